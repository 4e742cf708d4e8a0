import { Module } from '@nestjs/common';
import { FreelancersModule } from '../freelancers/freelancers.module';
import { LedgerController } from './ledger.controller';
import { LedgerReports } from './ledger-reports.service';
import { LedgerService } from './ledger.service';
import { OpsLedgerController } from './ops-ledger.controller';
import { PayoutBookings } from './payout-bookings.service';

@Module({
  imports: [FreelancersModule],
  controllers: [LedgerController, OpsLedgerController],
  providers: [LedgerService, PayoutBookings, LedgerReports],
  exports: [LedgerService, PayoutBookings],
})
export class LedgerModule {}
