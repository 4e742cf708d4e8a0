import type Decimal from 'decimal.js';

/** One send to a provider. The idempotency key is derived from the attempt, never random. */
export interface SendRequest {
  idempotencyKey: string;
  payoutId: string;
  attemptId: string;
  routeId: string;
  amount: Decimal;
  currency: 'USD';
  beneficiary: {
    name: string;
    iban: string;
    institution: string;
    accountKind: 'bank_fcy' | 'fintech_usd';
  };
  /**
   * Aborted when the caller stops waiting. A connector gives up the call and answers `unknown`; a request the
   * provider had already received shows in `getStatus`, one it had not must then never be carried out.
   */
  signal?: AbortSignal;
}

export type SendResult =
  | { kind: 'accepted'; transferId: string }
  /** Nothing was created; retrying the same key is safe. */
  | { kind: 'transient'; error: string }
  /**
   * A definite rejection before acceptance: fail over to the next route. `fault` says whose it is: `payout` when
   * the provider refused this payout for something of its own (a closed beneficiary account, a malformed
   * request), which says nothing about the provider's health and does not count towards its circuit breaker;
   * `provider` when the provider refused for reasons of its own (it declines the corridor, its side is broken).
   */
  | { kind: 'permanent'; error: string; fault: 'payout' | 'provider' }
  /** Timeout: the transfer may or may not exist; ask `getStatus(key)` before doing anything else. */
  | { kind: 'unknown'; error: string };

export type TransferStatus =
  | { state: 'not_found' }
  | { state: 'processing'; transferId: string }
  | { state: 'settled'; transferId: string; settledAt: Date }
  | { state: 'failed'; transferId: string; error: string }
  /** "Paid" is not final: the money came back after it had settled. */
  | { state: 'returned'; transferId: string; settledAt: Date; returnedAt: Date; reason: string };

/** One transfer as the provider's statement shows it, in the state the provider holds it now. */
export interface StatementLine {
  transferId: string;
  idempotencyKey: string;
  amount: Decimal;
  currency: string;
  state: 'processing' | 'settled' | 'failed' | 'returned';
  acceptedAt: Date;
}

/** A page of a provider's statement; `next` is the provider's own cursor for the page after it, null at the end. */
export interface StatementPage {
  lines: StatementLine[];
  next: string | null;
}

/** What the payout pipeline knows of a provider. Routing and ledger never see more than this. */
export interface ProviderConnector {
  readonly providerId: string;
  send(request: SendRequest): Promise<SendResult>;
  /**
   * The provider's view of the transfer made under this idempotency key, if any. `signal` is aborted when the
   * caller stops waiting (after SEND_TIMEOUT_MS): a connector gives up its request then.
   */
  getStatus(idempotencyKey: string, signal?: AbortSignal): Promise<TransferStatus>;
  /**
   * The provider's statement: every transfer it accepted at or after `from` and before `to`, oldest first, at
   * most `limit` to a page; `cursor` is the `next` of the page before (null for the first). Reconciliation reads
   * it to compare the provider's books with ours; `signal` is aborted when it stops waiting.
   */
  statement(
    window: { from: Date; to: Date },
    cursor: string | null,
    limit: number,
    signal?: AbortSignal,
  ): Promise<StatementPage>;
}
