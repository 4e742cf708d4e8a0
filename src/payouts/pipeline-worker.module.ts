import { Module } from '@nestjs/common';
import { PayoutSweeper } from './payout-sweeper.service';
import { PayoutsModule } from './payouts.module';
import { ReconciliationScheduler } from './reconciliation/reconciliation-scheduler.service';
import { RoutePayoutProcessor } from './processors/route-payout.processor';
import { SendPayoutProcessor } from './processors/send-payout.processor';
import { SettlePayoutProcessor } from './processors/settle-payout.processor';

/** The worker role: queue processors and the sweeper. Imported only when ROLE is worker or all. */
@Module({
  imports: [PayoutsModule],
  providers: [
    RoutePayoutProcessor,
    SendPayoutProcessor,
    SettlePayoutProcessor,
    PayoutSweeper,
    ReconciliationScheduler,
  ],
})
export class PipelineWorkerModule {}
