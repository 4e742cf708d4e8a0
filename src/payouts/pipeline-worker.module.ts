import { Module } from '@nestjs/common';
import { FailedJobPruner } from '../queues/failed-job-pruner.service';
import { PayoutSweeper } from './payout-sweeper.service';
import { PayoutsModule } from './payouts.module';
import { ReconciliationScheduler } from './reconciliation/reconciliation-scheduler.service';
import { RoutePayoutProcessor } from './processors/route-payout.processor';
import { SendPayoutProcessor } from './processors/send-payout.processor';
import { SettlePayoutProcessor } from './processors/settle-payout.processor';

/** The worker role: queue processors, the sweeper, reconciliation and the pruning of old failed jobs. Imported only when ROLE is worker or all. */
@Module({
  imports: [PayoutsModule],
  providers: [
    RoutePayoutProcessor,
    SendPayoutProcessor,
    SettlePayoutProcessor,
    PayoutSweeper,
    ReconciliationScheduler,
    FailedJobPruner,
  ],
})
export class PipelineWorkerModule {}
