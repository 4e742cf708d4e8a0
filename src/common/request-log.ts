import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type pino from 'pino';
import { withLogContext } from './log-context';

/**
 * One line per request once it is over: its id, method, URL, status and time taken, or "request aborted" when the
 * client went away first. Fastify hooks rather than an HTTP-logging middleware: the middleware's per-request child
 * logger and async context cost a quarter of a quote's CPU time (docs/performance.md).
 */
export function logRequests(
  fastify: FastifyInstance,
  root: pino.Logger,
  /** Credentials of no recognisable shape (the ops tokens), replaced wherever a client put one in a URL. */
  secrets: readonly string[] = [],
): void {
  if (!root.isLevelEnabled('info')) return;
  // These lines hold only the fields below (the URL with its credentials replaced), never headers: the root
  // logger's redaction, which walks every line for header paths, cost a request 4 µs of its 5 µs line.
  const log = root.child({}, { redact: [] });
  const req = (request: FastifyRequest) => ({
    id: request.id,
    method: request.method,
    url: loggableUrl(request.url, secrets),
  });
  fastify.addHook('onResponse', (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
    const statusCode = reply.statusCode;
    log[statusCode >= 500 ? 'error' : 'info'](
      { req: req(request), res: { statusCode }, responseTime: Math.round(reply.elapsedTime) },
      'request completed',
    );
    done();
  });
  fastify.addHook('onRequestAbort', (request: FastifyRequest, done: () => void) => {
    log.info({ req: req(request), res: { statusCode: null } }, 'request aborted');
    done();
  });
}

/** Query parameters whose value is a credential by their name, whatever it holds (`?token=`, `?api_key=`). */
const SECRET_PARAMETER = /token|secret|key|passw|signature|auth/i;
/** What our own credentials look like (partner API keys, signing secrets), wherever a client put one. */
const CREDENTIAL = /pk_[\w-]{8,}|whsec_[\w+/=%-]{8,}/g;

/**
 * The URL as the request log writes it. No endpoint takes a credential in its URL, but a client that puts one
 * there (an API key as `?api_key=`, a platform told to call `…?secret=`) must not have it written to the log in
 * clear: such values are replaced, the rest of the URL is kept as sent.
 */
export function loggableUrl(url: string, secrets: readonly string[] = []): string {
  const at = url.indexOf('?');
  // A component that holds a token, however it is escaped (the server reads it decoded), is replaced whole.
  const holdsSecret = (component: string) => {
    const decoded = decodedComponent(component);
    return secrets.some((secret) => decoded.includes(secret));
  };
  const path = (at === -1 ? url : url.slice(0, at))
    .split('/')
    .map((segment) => (holdsSecret(segment) ? '[redacted]' : segment))
    .join('/');
  const query =
    at === -1
      ? ''
      : `?${url
          .slice(at + 1)
          .split('&')
          .map((part) => {
            const eq = part.indexOf('=');
            const name = eq === -1 ? part : part.slice(0, eq);
            if (holdsSecret(name)) return '[redacted]';
            return eq !== -1 &&
              (SECRET_PARAMETER.test(decodedComponent(name)) || holdsSecret(part.slice(eq + 1)))
              ? `${name}=[redacted]`
              : part;
          })
          .join('&')}`;
  return `${path}${query}`.replace(CREDENTIAL, '[redacted]');
}

/** A URL component as the server reads it (`to%6Ben` is `token`, `+` a space); as sent when it does not decode. */
function decodedComponent(name: string): string {
  // Most components hold no escape: no work for them on a line every request writes.
  if (!name.includes('%') && !name.includes('+')) return name;
  try {
    return decodeURIComponent(name.replace(/\+/g, ' '));
  } catch {
    return name;
  }
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
