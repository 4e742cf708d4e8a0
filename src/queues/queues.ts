import { JobsOptions } from 'bullmq';

/** Every queue, its job data, job ids and default options: the one place they are defined. */
export const QUEUES = {
  routePayout: 'route-payout',
  sendPayout: 'send-payout',
  settlePayout: 'settle-payout',
  partnerWebhooks: 'partner-webhooks',
} as const;

export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

export const QUEUE_DISPLAY_NAMES: Record<QueueName, string> = {
  'route-payout': 'Route payouts (choose the cheapest route)',
  'send-payout': 'Send payouts through providers',
  'settle-payout': 'Poll provider settlement',
  'partner-webhooks': 'Deliver webhooks to partners',
};

export interface RoutePayoutJobData {
  payoutId: string;
  /** The webhook event or ops action that asked for routing. */
  cause: string;
}

export interface SendPayoutJobData {
  payoutId: string;
  attemptId: string;
}

export interface SettlePayoutJobData {
  payoutId: string;
  attemptId: string;
  /** Set on the checks of a settled transfer for a later return: which one this is, from 0. */
  returnCheck?: number;
  /** Set on a job of the slow poll: the attempt's settle_check_at it was queued for, in epoch milliseconds. */
  pollDueAtMs?: number;
}

export interface PartnerWebhookJobData {
  deliveryId: string;
  /** How many attempts the delivery had when this job was queued; a job for a stale count does nothing. */
  attempt: number;
  /** How many times this attempt already waited for its endpoint to have a free slot. */
  waits?: number;
}

/** Job ids are derived from what the job is about, so a second enqueue of the same work is a no-op. */
export const JobIds = {
  routeFromEvent: (eventId: string) => `route-event-${eventId}`,
  routeRetry: (payoutId: string, requestedAtMs: number) => `route-retry-${payoutId}-${requestedAtMs}`,
  routeSweep: (payoutId: string, sweepAtMs: number) => `route-sweep-${payoutId}-${sweepAtMs}`,
  /** One wait per cool-down period: routing again while a breaker is open queues nothing new. */
  routeAfterCooldown: (payoutId: string, nowMs: number, cooldownMs: number) =>
    `route-cooldown-${payoutId}-${Math.floor(nowMs / cooldownMs) * cooldownMs}`,
  send: (attemptId: string) => `send-${attemptId}`,
  settle: (attemptId: string) => `settle-${attemptId}`,
  returnCheck: (attemptId: string, check: number) => `return-check-${attemptId}-${check}`,
  returnCheckSweep: (attemptId: string, check: number, sweepAtMs: number) =>
    `return-check-${attemptId}-${check}-sweep-${sweepAtMs}`,
  sendSweep: (attemptId: string, sweepAtMs: number) => `send-${attemptId}-sweep-${sweepAtMs}`,
  /**
   * A send that waits (for a provider to come back, or for an earlier send's window) until about the given time.
   * Waits due within one delay of each other share an id, so two chains of waits (one started by the sweeper,
   * say) merge into one instead of both going on.
   */
  sendLater: (attemptId: string, atMs: number, delayMs: number) =>
    `send-${attemptId}-later-${Math.floor(atMs / delayMs) * delayMs}`,
  settleSweep: (attemptId: string, sweepAtMs: number) => `settle-${attemptId}-sweep-${sweepAtMs}`,
  /** The slow poll of a transfer still processing, due at `dueAtMs` (kept in Postgres as settle_check_at). */
  settlePoll: (attemptId: string, dueAtMs: number) => `settle-${attemptId}-poll-${dueAtMs}`,
  partnerWebhookOverdue: (deliveryId: string, attempt: number, bucket: number) =>
    `partner-webhook-${deliveryId}-${attempt}-overdue-${bucket}`,
  partnerWebhook: (deliveryId: string, attempt: number, waits = 0) =>
    waits === 0
      ? `partner-webhook-${deliveryId}-${attempt}`
      : `partner-webhook-${deliveryId}-${attempt}-wait-${waits}`,
};

export const DEFAULT_JOB_OPTIONS: Record<QueueName, JobsOptions> = {
  'route-payout': {
    attempts: 8,
    backoff: { type: 'exponential', delay: 500 },
    removeOnComplete: { age: 3600, count: 10_000 },
    removeOnFail: false,
  },
  'send-payout': {
    attempts: 6,
    backoff: { type: 'exponential', delay: 500 },
    removeOnComplete: { age: 3600, count: 10_000 },
    removeOnFail: false,
  },
  'settle-payout': {
    attempts: 30,
    backoff: { type: 'fixed', delay: 500 },
    removeOnComplete: { age: 3600, count: 10_000 },
    removeOnFail: false,
  },
  // One job is one delivery attempt: the retry schedule and attempt count live on the delivery row in
  // Postgres, and the processor queues the next attempt itself (see src/notifications/retry-schedule.ts).
  'partner-webhooks': {
    attempts: 1,
    removeOnComplete: { age: 3600, count: 10_000 },
    removeOnFail: { age: 7 * 24 * 3600 },
  },
};

/**
 * Worker options shared by every processor: a job whose worker died is seen as stalled within seconds and
 * handed to another worker; the Postgres guards make the second run harmless.
 */
export const WORKER_OPTIONS = { lockDuration: 10_000, stalledInterval: 5_000, maxStalledCount: 3 };
