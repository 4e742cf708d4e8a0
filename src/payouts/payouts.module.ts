import { Module } from '@nestjs/common';
import { FreelancersModule } from '../freelancers/freelancers.module';
import { InvoicesModule } from '../invoices/invoices.module';
import { LedgerModule } from '../ledger/ledger.module';
import { RoutingModule } from '../routing/routing.module';
import { ConnectorsModule } from './connectors/connectors.module';
import { OpsPayoutsController } from './ops-payouts.controller';
import { PayoutPipelineService } from './payout-pipeline.service';
import { PayoutRefundService } from './payout-refund.service';
import { PayoutRetryService } from './payout-retry.service';
import { PayoutsController } from './payouts.controller';
import { PayoutsService } from './payouts.service';
import { OpsReconciliationController } from './reconciliation/ops-reconciliation.controller';
import { ReconciliationService } from './reconciliation/reconciliation.service';

@Module({
  imports: [FreelancersModule, RoutingModule, LedgerModule, InvoicesModule, ConnectorsModule],
  controllers: [PayoutsController, OpsPayoutsController, OpsReconciliationController],
  providers: [
    PayoutsService,
    PayoutPipelineService,
    PayoutRetryService,
    PayoutRefundService,
    ReconciliationService,
  ],
  exports: [PayoutsService, PayoutPipelineService, ReconciliationService, ConnectorsModule],
})
export class PayoutsModule {}
