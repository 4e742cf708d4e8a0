import { LoggerService } from '@nestjs/common';
import pino from 'pino';
import { currentLogContext } from './log-context';

/** Headers that must never reach a log line, should a line (or an object logged in it) ever carry headers. */
const SECRET_HEADERS = ['authorization', '["webhook-signature"]', '["stripe-signature"]', 'cookie'];
export const REDACTED_PATHS = SECRET_HEADERS.flatMap((header) => [
  `req.headers.${header}`,
  `*.headers.${header}`,
  `params[*].headers.${header}`,
]);

/** The provider token of the app's one pino logger. */
export const ROOT_LOGGER = Symbol('ROOT_LOGGER');

/**
 * The app's one pino logger: JSON lines to `stream` at `level`. A line written while a request or a job runs
 * carries its fields (log-context.ts), so a warning deep in a service can be traced to what caused it.
 */
export function createRootLogger(level: string, stream: pino.DestinationStream): pino.Logger {
  return pino(
    {
      level,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      // A fresh object per line: pino merges the line's own fields into what the mixin returns.
      mixin: () => ({ ...currentLogContext() }),
    },
    stream,
  );
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
    // A Logger with a context pads what it was not given with undefined: `error(msg)` arrives as (msg, undefined, ctx).
    const rest = params.filter((param) => param !== undefined);
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
