import { AsyncLocalStorage } from 'node:async_hooks';

/** Fields every log line written on behalf of one request or one job carries: `reqId`, or `queue` and `jobId`. */
export type LogContext = Readonly<Record<string, string>>;

const storage = new AsyncLocalStorage<LogContext>();

/** Runs `work` so that every line it logs, directly or through anything it awaits, carries `fields`. */
export function withLogContext<T>(fields: LogContext, work: () => T): T {
  return storage.run(fields, work);
}

/** The fields of the request or job the caller runs for; none outside of one. */
export function currentLogContext(): LogContext | undefined {
  return storage.getStore();
}

/** The fields of a queue job's lines. */
export function jobLogContext(job: { queueName: string; id?: string }): LogContext {
  return { queue: job.queueName, jobId: String(job.id) };
}
