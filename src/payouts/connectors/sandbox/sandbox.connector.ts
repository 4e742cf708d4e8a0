import { Inject, Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { Clock } from '../../../common/clock';
import { APP_CONFIG, AppConfig } from '../../../config/app-config';
import {
  ProviderConnector,
  SendRequest,
  SendResult,
  StatementPage,
  TransferStatus,
} from '../provider-connector';
import { chooseOutcome, drawUniform, SandboxSettings } from './sandbox-behaviour';
import { SandboxDelay } from './sandbox-delay';
import { SandboxSettingsService } from './sandbox-settings.service';
import { SandboxTransfer, SandboxTransfersService } from './sandbox-transfers.service';

const RETURN_REASONS = [
  'Beneficiary account closed',
  'Beneficiary name does not match the account title',
  'Account cannot receive USD credits',
];

/** A key reused for a different transfer: a bug in the caller, never a provider outcome. */
export class IdempotencyKeyReusedError extends Error {}

/**
 * A provider that behaves like a real one, by ops' settings for that provider:
 *
 * - every send first waits `latencyMs` (a send whose caller stops waiting meanwhile never arrives); status
 *   lookups and statements answer at once;
 * - a key the provider already accepted is answered with that transfer, whatever the draw: sends of one key
 *   are serialized and look the key up first, so a repeated send never creates a second transfer;
 * - otherwise one draw for (provider, key, call number) picks the outcome: permanent failure, transient
 *   failure (both create nothing), timeout, or acceptance. Half of the timeouts (a second draw) create the
 *   transfer and lose the answer, half create nothing; both answer `unknown`, and `getStatus(key)` tells
 *   them apart (`processing`… or `not_found`). A timeout is decided before send returns, so once it has
 *   answered, the status of its key no longer changes by itself from `not_found`;
 * - an accepted transfer settles `settleAfterMs` after acceptance; with probability `returnRate` (drawn
 *   per key at acceptance) it comes back `settleAfterMs` after settling: "paid" is not final.
 *
 * Draws come from HMAC-SHA256 under SANDBOX_SEED, of the provider, the key and the call: with a fixed seed the same
 * key meets the same fate (keys hold their payout's random id, so a whole run replays only with the same ids).
 */
export class SandboxConnector implements ProviderConnector {
  constructor(
    readonly providerId: string,
    private readonly settings: SandboxSettingsService,
    private readonly transfers: SandboxTransfersService,
    private readonly delay: SandboxDelay,
    private readonly clock: Clock,
    private readonly seed: string,
  ) {}

  async send(request: SendRequest): Promise<SendResult> {
    const settings = await this.settings.get(this.providerId);
    await this.delay.wait(settings.latencyMs, request.signal);
    // The caller stopped waiting while the request was still on its way: the provider never receives it.
    if (request.signal?.aborted) {
      return { kind: 'unknown', error: `${this.providerId} sandbox did not answer before the send timeout` };
    }

    const invalid = invalidRequest(request);
    if (invalid) {
      return {
        kind: 'permanent',
        fault: 'payout',
        error: `${this.providerId} sandbox rejected the transfer: ${invalid}`,
      };
    }

    return this.transfers.serialized(this.providerId, request.idempotencyKey, async (tx, call) => {
      const existing = await this.transfers.find(this.providerId, request.idempotencyKey, tx);
      if (existing) return this.replay(existing, request);

      switch (chooseOutcome(settings, this.draw('outcome', request.idempotencyKey, call))) {
        case 'permanent':
          return {
            kind: 'permanent',
            fault: 'provider',
            error: `${this.providerId} sandbox declined the transfer (simulated)`,
          };
        case 'transient':
          return {
            kind: 'transient',
            error: `${this.providerId} sandbox is temporarily unavailable (simulated 503)`,
          };
        case 'timeout':
          if (this.draw('timeout-created', request.idempotencyKey, call) < 0.5) {
            await this.accept(tx, request, settings);
          }
          return {
            kind: 'unknown',
            error: `${this.providerId} sandbox did not answer in time (simulated timeout)`,
          };
        case 'accept':
          return this.replay(await this.accept(tx, request, settings), request);
      }
    });
  }

  async getStatus(idempotencyKey: string): Promise<TransferStatus> {
    const found = await this.transfers.find(this.providerId, idempotencyKey);
    if (!found) return { state: 'not_found' };
    const transfer = await this.transfers.advance(found, this.clock.now());
    switch (transfer.state) {
      case 'processing':
        return { state: 'processing', transferId: transfer.id };
      case 'settled':
        return { state: 'settled', transferId: transfer.id, settledAt: transfer.settlesAt };
      case 'returned':
        return {
          state: 'returned',
          transferId: transfer.id,
          settledAt: transfer.settlesAt,
          // The table refuses a returned row without a return time and reason.
          returnedAt: transfer.returnsAt!,
          reason: transfer.returnReason!,
        };
    }
  }

  async statement(
    window: { from: Date; to: Date },
    cursor: string | null,
    limit: number,
  ): Promise<StatementPage> {
    const page = await this.transfers.statement(this.providerId, window, cursor, limit, this.clock.now());
    return {
      lines: page.transfers.map((t) => ({
        transferId: t.id,
        idempotencyKey: t.idempotencyKey,
        amount: t.amount,
        currency: t.currency,
        state: t.state,
        acceptedAt: t.acceptedAt,
      })),
      next: page.next,
    };
  }

  private async accept(
    tx: EntityManager,
    request: SendRequest,
    settings: SandboxSettings,
  ): Promise<SandboxTransfer> {
    const acceptedAt = this.clock.now();
    const settlesAt = new Date(acceptedAt.getTime() + settings.settleAfterMs);
    const returned = this.draw('return', request.idempotencyKey, 0) < settings.returnRate;
    const reason =
      RETURN_REASONS[
        Math.floor(this.draw('return-reason', request.idempotencyKey, 0) * RETURN_REASONS.length)
      ];
    return this.transfers.createOnce(
      this.providerId,
      request,
      {
        acceptedAt,
        settlesAt,
        returnsAt: returned ? new Date(settlesAt.getTime() + settings.settleAfterMs) : null,
        returnReason: returned ? reason : null,
      },
      tx,
    );
  }

  /** A repeated key answers with the transfer it made, provided it is the same transfer being asked for. */
  private replay(transfer: SandboxTransfer, request: SendRequest): SendResult {
    const same =
      transfer.payoutId === request.payoutId &&
      transfer.attemptId === request.attemptId &&
      transfer.amount.equals(request.amount) &&
      transfer.beneficiaryIban === request.beneficiary.iban;
    if (!same) {
      throw new IdempotencyKeyReusedError(
        `Idempotency key ${request.idempotencyKey} already made ${this.providerId} sandbox transfer ${transfer.id} for other details`,
      );
    }
    return { kind: 'accepted', transferId: transfer.id };
  }

  private draw(purpose: string, idempotencyKey: string, call: number): number {
    return drawUniform(this.seed, [purpose, this.providerId, idempotencyKey, call]);
  }
}

/**
 * The sandbox's closed account, as providers' test modes have magic account numbers: an IBAN whose account
 * number (its last 16 characters) begins with `CLOSED` is refused by every sandbox provider, for that payout
 * alone. Letters, so that no account a test picks for its plainness (all zeros, say) is taken for it.
 */
export const CLOSED_ACCOUNT = /^PK\d\d[A-Z]{4}CLOSED[0-9A-Z]{10}$/;

/** What a real provider would refuse outright. */
function invalidRequest(request: SendRequest): string | null {
  if (request.idempotencyKey.length < 1 || request.idempotencyKey.length > 255) {
    return 'idempotency key must be 1 to 255 characters';
  }
  if (request.currency !== 'USD') return 'only USD is supported';
  if (!request.amount.isFinite() || request.amount.lte(0) || request.amount.decimalPlaces() > 2) {
    return 'amount must be positive with at most two fraction digits';
  }
  if (!request.beneficiary.iban || !request.beneficiary.name) return 'beneficiary name and IBAN are required';
  if (CLOSED_ACCOUNT.test(request.beneficiary.iban)) return 'the beneficiary account is closed';
  return null;
}

/** Builds the sandbox connector of a provider; the registry asks it for every provider of the catalog. */
@Injectable()
export class SandboxConnectorFactory {
  constructor(
    private readonly settings: SandboxSettingsService,
    private readonly transfers: SandboxTransfersService,
    private readonly delay: SandboxDelay,
    private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  create(providerId: string): SandboxConnector {
    return new SandboxConnector(
      providerId,
      this.settings,
      this.transfers,
      this.delay,
      this.clock,
      this.config.sandbox.seed,
    );
  }
}
