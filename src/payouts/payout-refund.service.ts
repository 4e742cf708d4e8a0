import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { ProblemException, Problems } from '../common/problem';
import { PayoutBookings } from '../ledger/payout-bookings.service';
import { PayoutDto, RefundPayoutDto } from './dto/payout.dto';
import { PayoutPipelineService } from './payout-pipeline.service';
import { PayoutsService } from './payouts.service';

/**
 * Ops give money a provider sent back after paying it (a `returned` payout) back to the platform it came from,
 * and the service records it: the payout becomes `refunded`, and the ledger moves the returned net from what is
 * held for the freelancer to what went back to the platform. The provider is told outside the service, as ops
 * tell it today; this books what was done.
 */
@Injectable()
export class PayoutRefundService {
  constructor(
    private readonly db: DataSource,
    private readonly pipeline: PayoutPipelineService,
    private readonly bookings: PayoutBookings,
    private readonly payouts: PayoutsService,
  ) {}

  async refund(payoutId: string, dto: RefundPayoutDto): Promise<PayoutDto> {
    const current = await this.payouts.get(null, payoutId);
    if (current.status !== 'returned') throw refusal(current.status);
    const reference = dto.reference.trim();
    await this.db.transaction(async (tx) => {
      const [attempt]: { seq: number; platform: string }[] = await tx.query(
        `SELECT a.seq, p.platform FROM payout_attempts a JOIN payouts p ON p.id = a.payout_id
          WHERE a.payout_id = $1 AND a.status = 'returned' ORDER BY a.seq DESC LIMIT 1`,
        [payoutId],
      );
      // The guarded move decides between two refunds at once: the second finds the payout refunded already, and
      // is told the status it found.
      const moved =
        attempt &&
        (await this.pipeline.transition(
          tx,
          payoutId,
          'refunded',
          `given back to ${attempt.platform} by ops (${reference})`,
        ));
      if (!moved) {
        const [found]: { status: string }[] = await tx.query(`SELECT status FROM payouts WHERE id = $1`, [
          payoutId,
        ]);
        throw refusal(found.status);
      }
      await this.bookings.bookRefunded(tx, {
        payoutId,
        attemptSeq: attempt.seq,
        platform: attempt.platform,
        reference,
      });
    });
    return this.payouts.get(null, payoutId);
  }
}

function refusal(status: string): ProblemException {
  return Problems.conflict(
    `Only a returned payout's money can be given back to its platform; this one is ${status}.`,
  );
}
