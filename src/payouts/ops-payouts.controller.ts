import { Controller, Get, HttpCode, Param, Post, Query, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { IdPipe } from '../common/id.pipe';
import { OpsGuard } from '../partners/ops.guard';
import { OpsPayoutPageDto, OpsPayoutQuery, PayoutDto } from './dto/payout.dto';
import { PayoutRetryService } from './payout-retry.service';
import { PayoutsService } from './payouts.service';

@ApiTags('ops')
@ApiBearerAuth('ops')
@UseGuards(OpsGuard)
@Controller('v1/ops/payouts')
export class OpsPayoutsController {
  constructor(
    private readonly retries: PayoutRetryService,
    private readonly payouts: PayoutsService,
  ) {}

  /** Payouts that need a person across partners, or one partner's: newest first, filtered by status. */
  @Get()
  list(@Query() query: OpsPayoutQuery): Promise<OpsPayoutPageDto> {
    return this.payouts.listForOps(query);
  }

  /** Re-runs routing for an unmatched or failed payout (after the partner registered the freelancer, say). */
  @Post(':id/retry')
  @HttpCode(200)
  retry(@Param('id', IdPipe) id: string): Promise<PayoutDto> {
    return this.retries.retry(id);
  }
}
