import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type pino from 'pino';
import { withLogContext } from './log-context';

/**
 * One line per request once it is over: its id, method, URL, status and time taken, or "request aborted" when the
 * client went away first. Fastify hooks rather than an HTTP-logging middleware: the middleware's per-request child
 * logger and async context cost a quarter of a quote's CPU time (docs/performance.md).
 */
export function logRequests(fastify: FastifyInstance, root: pino.Logger): void {
  if (!root.isLevelEnabled('info')) return;
  const req = (request: FastifyRequest) => ({ id: request.id, method: request.method, url: request.url });
  fastify.addHook('onResponse', (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
    const statusCode = reply.statusCode;
    root[statusCode >= 500 ? 'error' : 'info'](
      { req: req(request), res: { statusCode }, responseTime: Math.round(reply.elapsedTime) },
      'request completed',
    );
    done();
  });
  fastify.addHook('onRequestAbort', (request: FastifyRequest, done: () => void) => {
    root.info({ req: req(request), res: { statusCode: null } }, 'request aborted');
    done();
  });
}

/**
 * Every line logged while a request is handled carries its id as `reqId`: the context entered when the request
 * arrives holds through its body's stream events, validation, guards and the handler (tested over a socket).
 */
export function tagRequestLogs(fastify: FastifyInstance): void {
  fastify.addHook('onRequest', (request: FastifyRequest, _reply: FastifyReply, done: () => void) =>
    withLogContext({ reqId: String(request.id) }, done),
  );
}
