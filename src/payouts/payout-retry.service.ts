import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Problems } from '../common/problem';
import { PayoutDto } from './dto/payout.dto';
import { PayoutPipelineService, RetryLater } from './payout-pipeline.service';
import { PayoutsService } from './payouts.service';

@Injectable()
export class PayoutRetryService {
  constructor(
    private readonly db: DataSource,
    private readonly pipeline: PayoutPipelineService,
    private readonly payouts: PayoutsService,
  ) {}

  async retry(payoutId: string): Promise<PayoutDto> {
    const current = await this.payouts.get(null, payoutId);
    if (current.status !== 'failed' && current.status !== 'unmatched') {
      throw Problems.conflict(
        `Only unmatched or failed payouts can be retried; this one is ${current.status}.`,
      );
    }
    // Received again: a new routing round, and the time any wait for providers is counted from. What it failed
    // of no longer stands; its invoice awaits the proceeds again once the new round has an attempt under way.
    // Of two retries at once, the one that did not move the payout is refused as a later one would be.
    const moved = await this.db.transaction(async (tx) => {
      if (!(await this.pipeline.transition(tx, payoutId, 'received', 'retry requested by ops'))) return false;
      await tx.query(`UPDATE payouts SET failure_reason = NULL WHERE id = $1`, [payoutId]);
      return true;
    });
    if (!moved) {
      throw Problems.conflict(
        `Another retry of this payout moved it first; it is ${(await this.payouts.get(null, payoutId)).status} now.`,
      );
    }
    // Routing runs here so the answer shows its outcome; the provider is called by the workers, not the api.
    try {
      await this.pipeline.route(payoutId, { sendInline: false });
    } catch (error) {
      // Routing asked to run again later (the account was closed under it twice): the retry itself stands, and the
      // payout, received, is routed by the sweeper. The answer shows it as it is.
      if (!(error instanceof RetryLater)) throw error;
    }
    return this.payouts.get(null, payoutId);
  }
}
