import { Logger as NestLogger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { IncomingMessage } from 'node:http';
import type pino from 'pino';
import { AppModule } from './app.module';
import { AppLogger, ROOT_LOGGER } from './common/app-logger';
import { Clock } from './common/clock';
import { answerClientError, hostProblem, installHttpEdge, requestIdOf } from './common/http-edge';
import { logRequests, tagRequestLogs } from './common/request-log';
import { unstorableText } from './common/storable-text';
import { ProblemFilter, sendProblem } from './common/problem.filter';
import { FieldError, httpProblem, ProblemException, Problems } from './common/problem';
import {
  DASHBOARD_READ_ONLY,
  dashboardErrorDetail,
  QUEUE_DASHBOARD_PATH,
} from './ops/queue-dashboard.module';
import { authorizationSentTwice } from './partners/api-key';
import { isOpsRequest } from './partners/ops.guard';
import {
  FORBIDDEN_PROTOTYPE_MESSAGE,
  isForbiddenPrototype,
  parseJsonBody,
  RepeatedKeyError,
  REPEATED_KEY_MESSAGE,
} from './common/json-body';
import { createValidationPipe } from './common/validation';
import { AppConfig } from './config/app-config';
import { MetricsService } from './ops/metrics.service';
import { RedisService } from './redis/redis.module';

/** Largest request body accepted anywhere (the webhook limit of the contract). */
export const BODY_LIMIT_BYTES = 256 * 1024;
const WEBHOOK_PATH = /^\/v1\/webhooks\//;

/** Whether the request was routed to webhook intake: the route matched decides, however the path was spelled. */
function isWebhookRequest(req: Pick<FastifyRequest, 'url' | 'routeOptions'>): boolean {
  return WEBHOOK_PATH.test(req.routeOptions?.url ?? req.url);
}

export type RawRequest = FastifyRequest & { rawBody?: Buffer; bodyIsNotJson?: boolean };

/** Deepest nesting a request body may have: our bodies nest three levels; validators recurse per level. */
export const MAX_JSON_DEPTH = 32;

/** A container still to be walked, with the way back to the root for naming a field. */
interface Frame {
  node: object;
  depth: number;
  parent: Frame | null;
  key: string;
}

/** `body` for the root; otherwise the keys from the root, dotted (`client.name`, `items.0`). */
function fieldOf(frame: Frame, key: string | null): string {
  const keys = key === null ? [] : [key];
  for (let f: Frame | null = frame; f && f.parent; f = f.parent) keys.unshift(f.key);
  return keys.length ? keys.join('.') : 'body';
}

const NOT_FINITE = 'must not hold a number too large for a double (such as 1e400)';

/**
 * What makes one value that is no object or array unusable: text Postgres cannot store, or a number JSON read as
 * Infinity (1e400), which no JSON (the Idempotency-Key's fingerprint included) can hold.
 */
function leafProblem(value: unknown): string | null {
  if (typeof value === 'string') return unstorableText(value);
  return typeof value === 'number' && !Number.isFinite(value) ? NOT_FINITE : null;
}

/**
 * What makes a parsed JSON body unusable before any validator sees it: nesting deeper than `MAX_JSON_DEPTH`, or
 * a key or string Postgres text cannot store (U+0000, a lone surrogate), which no field may silently change. Walked without recursion, touching each value once
 * and building a field name only for a body it refuses: it runs before authentication, so it must stay cheap.
 */
export function jsonBodyProblem(value: unknown): FieldError | null {
  if (value === null || typeof value !== 'object') {
    const message = leafProblem(value);
    return message ? { field: 'body', message } : null;
  }
  const stack: Frame[] = [{ node: value, depth: 1, parent: null, key: '' }];
  while (stack.length) {
    const frame = stack.pop()!;
    if (frame.depth > MAX_JSON_DEPTH) {
      return { field: 'body', message: `must not nest deeper than ${MAX_JSON_DEPTH} levels` };
    }
    const array = Array.isArray(frame.node) ? (frame.node as unknown[]) : null;
    const keys = array ? null : Object.keys(frame.node);
    const count = array ? array.length : keys!.length;
    for (let i = 0; i < count; i++) {
      const key = array ? null : keys![i];
      const keyProblem = key === null ? null : unstorableText(key);
      if (keyProblem) return { field: fieldOf(frame, null), message: keyProblem };
      const child = array ? array[i] : (frame.node as Record<string, unknown>)[key!];
      if (child !== null && typeof child === 'object') {
        stack.push({ node: child, depth: frame.depth + 1, parent: frame, key: key ?? String(i) });
      } else {
        const message = leafProblem(child);
        if (message) return { field: fieldOf(frame, key ?? String(i)), message };
      }
    }
  }
  return null;
}

/**
 * The first query or path parameter Postgres text cannot store, named as the validation errors of a query
 * name theirs (`cursor`, not `query.cursor`).
 */
function unstorableParameter(request: FastifyRequest): FieldError | null {
  for (const source of [request.query, request.params]) {
    if (!source || typeof source !== 'object') continue;
    for (const [name, value] of Object.entries(source)) {
      for (const item of [value].flat()) {
        const message = typeof item === 'string' ? unstorableText(item) : null;
        if (message) return { field: name, message };
      }
    }
  }
  return null;
}

/**
 * JSON bodies keep their exact bytes (`req.rawBody`) for signature checks. On webhook paths a body is read as
 * JSON whatever its media type, and a body that is not JSON is kept as bytes and flagged, so the signature is
 * checked before the 400. An empty body is no body, whatever its media type says: an endpoint that takes none
 * (an ops switch, a retry) runs, and one that needs one names its missing fields.
 */
function installBodyParsers(fastify: FastifyInstance): void {
  fastify.removeAllContentTypeParsers();
  const parse = (req: FastifyRequest, body: Buffer, done: (err: Error | null, body?: unknown) => void) => {
    const request = req as RawRequest;
    request.rawBody = body;
    let parsed: unknown;
    try {
      parsed = parseJsonBody(body, isWebhookRequest(req));
    } catch (error) {
      if (isWebhookRequest(req)) {
        request.bodyIsNotJson = true;
        done(null, undefined);
        return;
      }
      if (isForbiddenPrototype(error)) {
        done(Problems.validation([{ field: 'body', message: FORBIDDEN_PROTOTYPE_MESSAGE }]));
        return;
      }
      if (error instanceof RepeatedKeyError) {
        done(Problems.validation([{ field: error.field, message: REPEATED_KEY_MESSAGE }]));
        return;
      }
      // Not UTF-8 (a TypeError from the decoder) is not JSON either.
      const failure = (
        error instanceof SyntaxError ? error : new SyntaxError('The body is not UTF-8.')
      ) as SyntaxError & { statusCode?: number };
      failure.statusCode = 400;
      done(failure);
      return;
    }
    // Webhook bodies are kept as bytes and read field by field; elsewhere validation walks the whole body.
    const problem = isWebhookRequest(req) ? null : jsonBodyProblem(parsed);
    if (problem) {
      done(Problems.validation([problem]));
      return;
    }
    done(null, parsed);
  };
  fastify.addContentTypeParser('application/json', { parseAs: 'buffer' }, parse);
  fastify.addContentTypeParser(/^application\/[\w.+-]*\+json$/, { parseAs: 'buffer' }, parse);
  fastify.addContentTypeParser('*', { parseAs: 'buffer' }, (req, body, done) => {
    // A platform's bytes are what it signed, whatever it labelled them: JSON under another media type (or
    // none) is still the event.
    if (isWebhookRequest(req)) {
      parse(req, body as Buffer, done);
      return;
    }
    const failure = new Error('unsupported media type') as Error & { statusCode: number; code: string };
    failure.statusCode = 415;
    failure.code = 'FST_ERR_CTP_INVALID_MEDIA_TYPE';
    done(failure);
  });
}

/**
 * Whether a request reaches the queue dashboard, however its path is spelled. The router decodes percent-escapes
 * before it matches (`/%61dmin/queues` is `/admin/queues`), so the route it matched decides, and the raw and the
 * decoded path are checked as well.
 */
export function isDashboardRequest(request: Pick<FastifyRequest, 'url' | 'routeOptions'>): boolean {
  const path = request.url.split('?')[0];
  let decoded = path;
  // Every request passes here: decode only a path that holds an escape.
  if (path.includes('%')) {
    try {
      decoded = decodeURIComponent(path);
    } catch {
      decoded = path;
    }
  }
  return [request.routeOptions?.url, path, decoded].some((p) => p?.startsWith(QUEUE_DASHBOARD_PATH));
}

/** A request for the dashboard's data (its page and assets are static and need no Redis). */
function isDashboardApiRequest(request: Pick<FastifyRequest, 'url' | 'routeOptions'>): boolean {
  return request.routeOptions?.url?.startsWith(`${QUEUE_DASHBOARD_PATH}/api/`) ?? false;
}

/** How long the dashboard's API waits for Redis to answer a ping before it answers 503. */
const DASHBOARD_REDIS_TIMEOUT_MS = 1000;

export async function createApp(
  config: AppConfig,
  extra: { clock?: Clock } = {},
): Promise<NestFastifyApplication> {
  const hops = config.trustProxy;
  const adapter = new FastifyAdapter({
    bodyLimit: BODY_LIMIT_BYTES,
    // A request (headers and body) must arrive whole within this time, or it is answered 408 (answerClientError),
    // so a client that stops sending its body does not hold the connection. Node's HTTP server takes the limit
    // only when it is made (the value fastify sets on it afterwards is not read), and checks its connections for
    // it every few seconds.
    requestTimeout: config.httpRequestTimeoutMs,
    http: {
      requestTimeout: config.httpRequestTimeoutMs,
      connectionsCheckingInterval: Math.min(5_000, config.httpRequestTimeoutMs),
      // A request without Host is refused by the onRequest hook (hostProblem), as problem+json.
      requireHostHeader: false,
    },
    // The request id: the caller's X-Request-Id when it is a plain token, a fresh UUID otherwise. Answers carry
    // it back (see the onRequest hook) and the request log names it.
    requestIdHeader: false,
    genReqId: (req: IncomingMessage) => requestIdOf(req.headers),
    // What node's HTTP parser refuses (a NUL byte in a header, a bad request line) is problem+json too.
    clientErrorHandler: answerClientError,
    // What the router refuses before any handler runs (a malformed percent-escape, say) is problem+json too.
    frameworkErrors: (error: Error, _request: FastifyRequest, reply: FastifyReply) =>
      sendProblem(reply, error),
    // A number of hops trusts that many proxies nearest the api, whatever their address.
    trustProxy: typeof hops === 'number' ? (_address: string, hop: number) => hop < hops : hops,
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config, extra), adapter, {
    bufferLogs: true,
    bodyParser: false,
    abortOnError: false,
  });
  const rootLogger = app.get<pino.Logger>(ROOT_LOGGER);
  app.useLogger(new AppLogger(rootLogger));
  const fastify = app.getHttpAdapter().getInstance();
  const redis = app.get(RedisService);
  const metrics = app.get(MetricsService);
  installHttpEdge(fastify);
  tagRequestLogs(fastify);
  logRequests(fastify, rootLogger, [
    config.opsToken,
    ...(config.opsTokenPrevious ? [config.opsTokenPrevious] : []),
  ]);
  installBodyParsers(fastify);
  fastify.addHook('onRequest', async (request, reply) => {
    void reply.header('X-Request-Id', request.id);
    const host = hostProblem(request.raw);
    if (host) {
      sendProblem(reply, Problems.validation([host]));
      return reply;
    }
    if (request.headers.authorization !== undefined && authorizationSentTwice(request.raw.rawHeaders)) {
      sendProblem(reply, Problems.validation([{ field: 'Authorization', message: 'must be sent once' }]));
      return reply;
    }
    if (isDashboardRequest(request)) {
      if (!isOpsRequest(request.headers.authorization, config, metrics)) {
        sendProblem(
          reply,
          Problems.unauthorized('The queue dashboard needs the ops token as "Authorization: Bearer …".'),
        );
        return reply;
      }
      // Read-only, all of it: bull-board itself answers "pause all" and "resume all" with 200 and does nothing.
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        sendProblem(
          reply,
          new ProblemException(405, 'http-405', DASHBOARD_READ_ONLY, undefined, { Allow: 'GET, HEAD' }),
        );
        return reply;
      }
      // Its API waits on the queues' Redis for as long as Redis takes, which while Redis hangs is for ever.
      if (isDashboardApiRequest(request) && !(await redis.ping(DASHBOARD_REDIS_TIMEOUT_MS))) {
        sendProblem(
          reply,
          new ProblemException(
            503,
            'queues-unavailable',
            'Redis does not answer, so the queue dashboard cannot read the queues; try again shortly.',
            undefined,
            { 'Retry-After': '5' },
          ),
        );
        return reply;
      }
    }
    // What Postgres text cannot hold is refused here, not as a 500 from a query or silently changed.
    const unstorable = unstorableParameter(request);
    if (unstorable) {
      sendProblem(reply, Problems.validation([unstorable]));
      return reply;
    }
  });
  // The dashboard's own API answers errors in a shape of its own: problem+json here too, and no stack trace.
  fastify.addHook('onSend', async (request, reply, payload) => {
    if (reply.statusCode < 400 || !isDashboardRequest(request)) return payload;
    if (!String(reply.getHeader('content-type') ?? '').startsWith('application/json')) return payload;
    void reply.header('content-type', 'application/problem+json; charset=utf-8');
    return JSON.stringify(httpProblem(reply.statusCode, dashboardErrorDetail(String(payload))));
  });
  app.useGlobalPipes(createValidationPipe());
  app.useGlobalFilters(new ProblemFilter());

  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Payout router')
      .setDescription('Routes Pakistani freelancers’ export earnings into their dollar accounts.')
      .setVersion('1')
      .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'Partner API key (pk_…)' }, 'partner')
      .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'OPS_TOKEN' }, 'ops')
      .build(),
  );
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json' });

  if (config.opsTokenIsDevelopmentDefault) {
    new NestLogger('Config').warn(
      'OPS_TOKEN is not set: ops endpoints accept the development default token. Set OPS_TOKEN before exposing this service.',
    );
  }
  if (config.secretsKeyIsDevelopmentDefault) {
    new NestLogger('Config').warn(
      'SECRETS_KEY is not set: webhook secrets are encrypted with a development key.',
    );
  }
  return app;
}
