import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { IdPipe } from '../common/id.pipe';
import { PartnerApi } from '../partners/partner-api.decorator';
import { PartnerId } from '../partners/partner.guard';
import { FreelancerBalanceDto, LedgerEntriesQuery, LedgerEntryPageDto } from './dto/ledger.dto';
import { LedgerReports } from './ledger-reports.service';

@ApiTags('ledger')
@PartnerApi()
@Controller()
export class LedgerController {
  constructor(private readonly reports: LedgerReports) {}

  @Get('v1/freelancers/:id/balance')
  balance(@PartnerId() partnerId: string, @Param('id', IdPipe) id: string): Promise<FreelancerBalanceDto> {
    return this.reports.balance(partnerId, id);
  }

  @Get('v1/ledger/entries')
  entries(@PartnerId() partnerId: string, @Query() query: LedgerEntriesQuery): Promise<LedgerEntryPageDto> {
    return this.reports.entries(partnerId, query);
  }
}
