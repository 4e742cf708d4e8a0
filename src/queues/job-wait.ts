/**
 * How long a job waited for a worker once it was due (queued, or its delay over), in seconds; null for a retry,
 * whose due time is its backoff's, which the job does not keep. What `job_wait_seconds` observes: a queue that
 * backs up shows here before its depth says why.
 */
export function dueWaitSeconds(
  job: { timestamp: number; delay?: number; attemptsMade: number; processedOn?: number },
  nowMs: number,
): number | null {
  if (job.attemptsMade > 0) return null;
  const dueAt = job.timestamp + (job.delay ?? 0);
  return Math.max(0, (job.processedOn ?? nowMs) - dueAt) / 1000;
}
