import { LoggerService } from '@nestjs/common';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';

/** Headers that must never reach a log line, should a line ever carry a request's headers. */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers["webhook-signature"]',
  'req.headers["stripe-signature"]',
  'req.headers.cookie',
];

/** The provider token of the app's one pino logger. */
export const ROOT_LOGGER = Symbol('ROOT_LOGGER');

/** The app's one pino logger: JSON lines to `stream` at `level`. */
export function createRootLogger(level: string, stream: pino.DestinationStream): pino.Logger {
  return pino({ level, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } }, stream);
}

type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';

/**
 * Nest's log calls (`new Logger('Context').warn(…)`) as pino lines: the context as a field, an Error as `err`,
 * an object's fields merged in. Nest passes the context last; `error` may pass a stack trace before it.
 */
export class AppLogger implements LoggerService {
  constructor(private readonly root: pino.Logger) {}

  log(message: unknown, ...params: unknown[]): void {
    this.write('info', message, params);
  }

  error(message: unknown, ...params: unknown[]): void {
    this.write('error', message, params);
  }

  warn(message: unknown, ...params: unknown[]): void {
    this.write('warn', message, params);
  }

  debug(message: unknown, ...params: unknown[]): void {
    this.write('debug', message, params);
  }

  verbose(message: unknown, ...params: unknown[]): void {
    this.write('trace', message, params);
  }

  fatal(message: unknown, ...params: unknown[]): void {
    this.write('fatal', message, params);
  }

  private write(level: Level, message: unknown, params: unknown[]): void {
    if (!this.root.isLevelEnabled(level)) return;
    const fields: Record<string, unknown> = {};
    const rest = [...params];
    if (rest.length > 0 && typeof rest[rest.length - 1] === 'string') fields.context = rest.pop();
    if (level === 'error' && typeof rest[0] === 'string') fields.stack = rest.shift();
    if (rest.length > 0) fields.params = rest;
    if (message instanceof Error) {
      this.root[level]({ ...fields, err: message }, message.message);
    } else if (typeof message === 'object' && message !== null) {
      this.root[level]({ ...fields, ...(message as Record<string, unknown>) });
    } else {
      this.root[level](fields, String(message));
    }
  }
}

/**
 * One line per answered request, written when the answer has gone: its id, method, URL, status and time taken.
 * A Fastify hook rather than an HTTP-logging middleware: that middleware's per-request child logger and async
 * context cost about a third of a quote's CPU time (see docs/performance.md).
 */
export function logRequests(fastify: FastifyInstance, root: pino.Logger): void {
  if (!root.isLevelEnabled('info')) return;
  fastify.addHook('onResponse', (request, reply, done) => {
    const statusCode = reply.statusCode;
    root[statusCode >= 500 ? 'error' : 'info'](
      {
        req: { id: request.id, method: request.method, url: request.url },
        res: { statusCode },
        responseTime: Math.round(reply.elapsedTime),
      },
      'request completed',
    );
    done();
  });
}
