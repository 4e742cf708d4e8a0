import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { dueWaitSeconds } from '../queues/job-wait';

/** Every Prometheus metric of the service, on one registry per app instance. */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  readonly webhooks = new Counter({
    name: 'webhooks_total',
    help: 'Platform webhooks by outcome (accepted, duplicate, bad_signature, rejected, ignored, rate_limited).',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly payoutTransitions = new Counter({
    name: 'payout_transitions_total',
    help: 'Payout status transitions by the status entered.',
    labelNames: ['status'] as const,
    registers: [this.registry],
  });

  readonly payoutsByStatus = new Gauge({
    name: 'payouts_by_status',
    help: 'Payouts currently in each status.',
    labelNames: ['status'] as const,
    registers: [this.registry],
  });

  readonly acceptedTransfersOpen = new Gauge({
    name: 'accepted_transfers_open',
    help: 'Transfers providers accepted that have not settled yet, per provider.',
    labelNames: ['provider'] as const,
    registers: [this.registry],
  });

  readonly acceptedTransferOldestSeconds = new Gauge({
    name: 'accepted_transfer_oldest_seconds',
    help: 'How long ago the oldest accepted transfer not settled yet was sent, per provider: settle polls never give up on a transfer a provider keeps processing, so one that stays shows here.',
    labelNames: ['provider'] as const,
    registers: [this.registry],
  });

  readonly attempts = new Counter({
    name: 'payout_attempts_total',
    help: 'Send attempts by provider and outcome.',
    labelNames: ['provider', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly payoutWaits = new Counter({
    name: 'payout_waits_total',
    help: 'Times a payout step was put off: routing or a send waiting for providers to come back (breaker_open, provider_disabled), a send that may still land (send_may_land), or a settlement poll of a transfer still processing after the quick polls (step settle, processing).',
    labelNames: ['step', 'reason'] as const,
    registers: [this.registry],
  });

  readonly acceptedTransfersNotFound = new Counter({
    name: 'accepted_transfers_not_found_total',
    help: 'Status polls of a transfer the provider accepted that the provider answered with no record of it: the transfer is polled on, never failed over (reconciliation lists it as missing_transfer).',
    labelNames: ['provider'] as const,
    registers: [this.registry],
  });

  readonly routeChosen = new Counter({
    name: 'route_chosen_total',
    help: 'Routing decisions by chosen route.',
    labelNames: ['route'] as const,
    registers: [this.registry],
  });

  readonly opsPreviousTokenRequests = new Counter({
    name: 'ops_previous_token_requests_total',
    help: 'Ops requests authenticated with OPS_TOKEN_PREVIOUS: while it grows, some client has not moved to OPS_TOKEN.',
    registers: [this.registry],
  });

  readonly secretsSealedElsewhere = new Gauge({
    name: 'stored_secrets_not_under_current_key',
    help: 'Rows whose stored signing secrets another key than SECRETS_KEY sealed, by kind, after the last reseal pass: 0 before a key in SECRETS_KEYS_DECRYPT_ONLY is dropped.',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });

  readonly reconciliationDiscrepancies = new Gauge({
    name: 'reconciliation_discrepancies',
    help: "Discrepancies by provider and kind found by the provider's last reconciliation report.",
    labelNames: ['provider', 'kind'] as const,
    registers: [this.registry],
  });

  readonly reconciliationLastSuccess = new Gauge({
    name: 'reconciliation_last_success_seconds',
    help: "When the provider's last reconciliation report was made (Unix seconds): a failing statement leaves it behind.",
    labelNames: ['provider'] as const,
    registers: [this.registry],
  });

  readonly breakerState = new Gauge({
    name: 'provider_breaker_open',
    help: '1 while a provider circuit breaker is open, 0 when closed.',
    labelNames: ['provider'] as const,
    registers: [this.registry],
  });

  readonly partnerWebhookAttempts = new Counter({
    name: 'partner_webhook_attempts_total',
    help: 'Delivery attempts of webhooks to partners by outcome (delivered, retry, failed, skipped).',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly queueDepth = new Gauge({
    name: 'queue_jobs',
    help: 'Jobs per queue and state.',
    labelNames: ['queue', 'state'] as const,
    registers: [this.registry],
  });

  readonly jobDuration = new Histogram({
    name: 'job_duration_seconds',
    help: 'Time from a job being taken to it finishing, per queue.',
    labelNames: ['queue'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  readonly jobWait = new Histogram({
    name: 'job_wait_seconds',
    help: 'Time from a job being due (queued, or its delay over) to a worker taking it, per queue; first tries only.',
    labelNames: ['queue'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });

  /** A job taken by a worker: its wait since it was due, and a timer of its own run to call when it ends. */
  jobTaken(job: {
    queueName: string;
    timestamp: number;
    delay?: number;
    attemptsMade: number;
    processedOn?: number;
  }): () => void {
    const waited = dueWaitSeconds(job, Date.now());
    if (waited !== null) this.jobWait.observe({ queue: job.queueName }, waited);
    return this.jobDuration.startTimer({ queue: job.queueName });
  }

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }
}
