import { Injectable } from '@nestjs/common';
import Decimal from 'decimal.js';
import { EntityManager } from 'typeorm';
import { Accounts, LedgerError } from './chart';
import { LedgerService } from './ledger.service';
import {
  assertNet,
  EntryKinds,
  PayoutKeys,
  refundedLines,
  returnedLines,
  routedLines,
  sentLines,
  settledLines,
} from './payout-entries';
import { amountOn, BookedEntry, lineOn, PayoutLedgerState } from './payout-ledger-state';
import { FeeBreakdown } from './fee-lines';
import { reversalOf } from './posting';

export type { FeeBreakdown } from './fee-lines';

/** Attempt N of a payout as the provider settled it: the gross split into fees and the net delivered. */
export interface SettledAttempt {
  payoutId: string;
  attemptSeq: number;
  freelancerId: string;
  provider: string;
  gross: Decimal;
  fees: FeeBreakdown;
  net: Decimal;
}

/**
 * The entries the payout pipeline books, one method per step, each inside the pipeline's transaction.
 * Every method is idempotent: its key is the payout id and step (and attempt), so a job that runs twice
 * books once. Bookings of one payout are serialized by an advisory lock held to the end of the caller's
 * transaction, and each decides from what the ledger already holds for the payout. A call out of order
 * (sending a payout that is not routed, failing one that settled) throws instead of booking.
 */
@Injectable()
export class PayoutBookings {
  constructor(private readonly ledger: LedgerService) {}

  /** Routed: books a new routing round unless the current one is still open (then nothing). */
  async bookRouted(
    tx: EntityManager,
    p: { payoutId: string; freelancerId: string; platform: string; gross: Decimal },
  ): Promise<void> {
    const state = await this.state(tx, p.payoutId);
    const open = state.openRouted();
    if (open) {
      this.expectSame(open, 'platform_receivable', p.gross, p.payoutId);
      // The round in force was booked for one freelancer from one platform: another is a bug, not a repeat.
      if (
        lineOn(open, 'freelancer_in_transit')?.account !== Accounts.freelancerInTransit(p.freelancerId) ||
        lineOn(open, 'platform_receivable')?.account !== Accounts.platformReceivable(p.platform)
      ) {
        throw new LedgerError(
          `payout ${p.payoutId} is routed for another freelancer or from another platform`,
        );
      }
      return;
    }
    const round = state.routedRounds() + 1;
    await this.ledger.post(tx, {
      idempotencyKey: PayoutKeys.routed(p.payoutId, round),
      kind: EntryKinds.routed,
      payoutId: p.payoutId,
      description: `Routed ${p.gross.toFixed(2)} USD from ${p.platform}${round > 1 ? ` (round ${round})` : ''}`,
      lines: routedLines(p),
    });
  }

  /** Sent: the provider accepted attempt N; the gross moves from the platform to the provider. */
  async bookSent(
    tx: EntityManager,
    p: { payoutId: string; attemptSeq: number; platform: string; provider: string; gross: Decimal },
  ): Promise<void> {
    const state = await this.state(tx, p.payoutId);
    if (state.entry(PayoutKeys.sent(p.payoutId, p.attemptSeq))) return;
    await this.postSent(tx, state, p);
  }

  /** A provider refused attempt N after it was booked as sent: reverses that sent entry (else nothing). */
  async bookAttemptRejected(
    tx: EntityManager,
    p: { payoutId: string; attemptSeq: number; platform: string; provider: string; gross: Decimal },
  ): Promise<void> {
    const state = await this.state(tx, p.payoutId);
    const sent = state.entry(PayoutKeys.sent(p.payoutId, p.attemptSeq));
    if (!sent || state.isReversed(sent)) return;
    if (state.entry(PayoutKeys.settled(p.payoutId, p.attemptSeq))) {
      throw new LedgerError(`attempt ${p.attemptSeq} of payout ${p.payoutId} settled; it cannot be rejected`);
    }
    await this.reverseSent(tx, p.payoutId, sent, `Attempt ${p.attemptSeq} rejected by ${p.provider}`);
  }

  /**
   * Settled: net to the freelancer, each fee component to the provider, the provider cleared. When the
   * attempt was never booked as sent (a provider that settles at once), the sent entry is booked first.
   */
  async bookSettled(tx: EntityManager, p: SettledAttempt): Promise<void> {
    assertNet(p.gross, p.fees, p.net);
    const state = await this.state(tx, p.payoutId);
    const key = PayoutKeys.settled(p.payoutId, p.attemptSeq);
    if (state.entry(key)) return;
    if (state.settled().length) {
      throw new LedgerError(`payout ${p.payoutId} already settled on another attempt`);
    }
    let sent = state.entry(PayoutKeys.sent(p.payoutId, p.attemptSeq));
    if (!sent) {
      const routed = state.openRouted();
      const platform = routed && lineOn(routed, 'platform_receivable')?.account.split(':')[1];
      if (!platform) throw new LedgerError(`payout ${p.payoutId} is not booked as routed; it cannot settle`);
      sent = await this.postSent(tx, state, { ...p, platform });
    } else if (state.isReversed(sent)) {
      throw new LedgerError(`attempt ${p.attemptSeq} of payout ${p.payoutId} was rejected; it cannot settle`);
    }
    this.expectSame(sent, 'provider_in_transit', p.gross, p.payoutId);
    if (lineOn(sent, 'provider_in_transit')?.account.split(':')[1] !== p.provider) {
      throw new LedgerError(
        `attempt ${p.attemptSeq} of payout ${p.payoutId} was sent through another provider`,
      );
    }
    // The settlement discharges what routing put in transit: the freelancer's, not whoever the caller names.
    const routed = state.openRouted();
    if (
      !routed ||
      lineOn(routed, 'freelancer_in_transit')?.account !== Accounts.freelancerInTransit(p.freelancerId)
    ) {
      throw new LedgerError(`payout ${p.payoutId} was routed for another freelancer than ${p.freelancerId}`);
    }
    await this.ledger.post(tx, {
      idempotencyKey: key,
      kind: EntryKinds.settled,
      payoutId: p.payoutId,
      description: `Settled by ${p.provider}: ${p.net.toFixed(2)} USD delivered, ${p.fees.total.toFixed(2)} USD fees`,
      lines: settledLines(p),
    });
  }

  /** Failed: every route failed; reverses what is outstanding (sent attempts, then the routing). */
  async bookFailed(
    tx: EntityManager,
    p: { payoutId: string; freelancerId: string; platform: string; gross: Decimal },
  ): Promise<void> {
    const state = await this.state(tx, p.payoutId);
    if (state.settled().length) throw new LedgerError(`payout ${p.payoutId} settled; it cannot fail`);
    const routed = state.openRouted();
    if (!routed) return;
    this.expectSame(routed, 'platform_receivable', p.gross, p.payoutId);
    for (const sent of state.outstandingSent()) {
      await this.reverseSent(tx, p.payoutId, sent, 'Attempt given up: the payout failed');
    }
    await this.ledger.post(tx, {
      idempotencyKey: PayoutKeys.reversal(routed.idempotencyKey),
      kind: EntryKinds.failed,
      payoutId: p.payoutId,
      reversesEntryId: routed.id,
      description: `Failed: every route failed; ${p.gross.toFixed(2)} USD no longer in transit`,
      lines: reversalOf(routed.lines),
    });
  }

  /** Returned: a settled payout bounced back; settled drops by the net, held at the provider. */
  async bookReturned(tx: EntityManager, p: SettledAttempt & { platform: string }): Promise<void> {
    assertNet(p.gross, p.fees, p.net);
    const state = await this.state(tx, p.payoutId);
    const key = PayoutKeys.returned(p.payoutId, p.attemptSeq);
    if (state.entry(key)) return;
    const settled = state.entry(PayoutKeys.settled(p.payoutId, p.attemptSeq));
    if (!settled) {
      throw new LedgerError(`attempt ${p.attemptSeq} of payout ${p.payoutId} is not booked as settled`);
    }
    this.expectSame(settled, 'freelancer_settled', p.net, p.payoutId);
    // The return takes back what the settlement booked, from the same freelancer and the same provider.
    if (lineOn(settled, 'freelancer_settled')?.account !== Accounts.freelancerSettled(p.freelancerId)) {
      throw new LedgerError(`payout ${p.payoutId} was settled for another freelancer than ${p.freelancerId}`);
    }
    if (lineOn(settled, 'provider_disbursed')?.account !== Accounts.providerDisbursed(p.provider)) {
      throw new LedgerError(`payout ${p.payoutId} was settled through another provider than ${p.provider}`);
    }
    await this.ledger.post(tx, {
      idempotencyKey: key,
      kind: EntryKinds.returned,
      payoutId: p.payoutId,
      description: `Returned to ${p.provider}: ${p.net.toFixed(2)} USD held for the freelancer (paid from ${p.platform})`,
      lines: returnedLines(p),
    });
  }

  /**
   * Refunded: ops gave a returned net back to the platform. The net, freelancer and provider are the returned
   * entry's, so the refund moves exactly what came back; answers the net. Throws when the attempt was never booked as returned.
   */
  async bookRefunded(
    tx: EntityManager,
    p: { payoutId: string; attemptSeq: number; platform: string; reference: string },
  ): Promise<Decimal> {
    const state = await this.state(tx, p.payoutId);
    const returned = state.entry(PayoutKeys.returned(p.payoutId, p.attemptSeq));
    const net = returned && amountOn(returned, 'freelancer_returned');
    const freelancerId = returned && lineOn(returned, 'freelancer_returned')?.account.split(':')[1];
    const provider = returned && lineOn(returned, 'provider_returns')?.account.split(':')[1];
    if (!net || !freelancerId || !provider) {
      throw new LedgerError(`attempt ${p.attemptSeq} of payout ${p.payoutId} is not booked as returned`);
    }
    const key = PayoutKeys.refunded(p.payoutId, p.attemptSeq);
    if (state.entry(key)) return net;
    // The net goes back to the platform it came from: the one routing booked the gross from.
    const routed = state.openRouted();
    if (
      !routed ||
      lineOn(routed, 'platform_receivable')?.account !== Accounts.platformReceivable(p.platform)
    ) {
      throw new LedgerError(`payout ${p.payoutId} was routed from another platform than ${p.platform}`);
    }
    await this.ledger.post(tx, {
      idempotencyKey: key,
      kind: EntryKinds.refunded,
      payoutId: p.payoutId,
      description: `Refunded by ${provider} to ${p.platform}: ${net.toFixed(2)} USD returned (${p.reference})`,
      lines: refundedLines({ freelancerId, provider, platform: p.platform, net }),
    });
    return net;
  }

  private async state(tx: EntityManager, payoutId: string): Promise<PayoutLedgerState> {
    return new PayoutLedgerState(await this.ledger.lockAndLoadPayout(tx, payoutId));
  }

  private async postSent(
    tx: EntityManager,
    state: PayoutLedgerState,
    p: { payoutId: string; attemptSeq: number; platform: string; provider: string; gross: Decimal },
  ): Promise<BookedEntry> {
    const routed = state.openRouted();
    if (!routed) throw new LedgerError(`payout ${p.payoutId} is not booked as routed; it cannot be sent`);
    this.expectSame(routed, 'platform_receivable', p.gross, p.payoutId);
    const busy = state.outstandingSent()[0];
    if (busy) {
      throw new LedgerError(
        `payout ${p.payoutId} has an attempt still booked as sent (${busy.idempotencyKey}); reject it first`,
      );
    }
    const entry = {
      idempotencyKey: PayoutKeys.sent(p.payoutId, p.attemptSeq),
      kind: EntryKinds.sent,
      payoutId: p.payoutId,
      description: `Attempt ${p.attemptSeq} accepted by ${p.provider}`,
      lines: sentLines(p),
    };
    const { entryId } = await this.ledger.post(tx, entry);
    return { ...entry, id: entryId, reversesEntryId: null };
  }

  private async reverseSent(
    tx: EntityManager,
    payoutId: string,
    sent: BookedEntry,
    why: string,
  ): Promise<void> {
    await this.ledger.post(tx, {
      idempotencyKey: PayoutKeys.reversal(sent.idempotencyKey),
      kind: EntryKinds.attemptRejected,
      payoutId,
      reversesEntryId: sent.id,
      description: `${why}; the gross is back with the platform`,
      lines: reversalOf(sent.lines),
    });
  }

  private expectSame(entry: BookedEntry, type: string, amount: Decimal, payoutId: string): void {
    const booked = amountOn(entry, type);
    if (!booked || !booked.equals(amount)) {
      throw new LedgerError(
        `payout ${payoutId}: ${amount.toFixed(2)} differs from ${booked?.toFixed(2)} booked in ${entry.idempotencyKey}`,
      );
    }
  }
}
