import { Controller, Get, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { OpsGuard } from '../partners/ops.guard';
import { TrialBalanceDto } from './dto/ledger.dto';
import { LedgerReports } from './ledger-reports.service';

@ApiTags('ops')
@ApiBearerAuth('ops')
@UseGuards(OpsGuard)
@Controller('v1/ops/ledger')
export class OpsLedgerController {
  constructor(private readonly reports: LedgerReports) {}

  @Get('trial-balance')
  trialBalance(): Promise<TrialBalanceDto> {
    return this.reports.trialBalance();
  }
}
