import type { Worker } from 'bullmq';

/**
 * Stops a worker taking jobs and waits for the ones it holds, called before the application's shutdown hooks.
 * Nest closes workers and queues in the same hook, at once: a job finishing after its queue's connection closed
 * could not queue its next step (the sweepers found it later). Closing the workers first, while the queues and
 * the database are still open, hands every finished job's next step over; the later close is the same promise.
 */
export function closeWorkerFirst(worker: Worker): Promise<void> {
  return worker.close();
}
