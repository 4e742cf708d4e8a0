import { Body, Controller, Get, HttpCode, Param, Post, Query, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { IdPipe } from '../common/id.pipe';
import { OpsGuard } from '../partners/ops.guard';
import { OpsPayoutPageDto, OpsPayoutQuery, PayoutDto, RefundPayoutDto } from './dto/payout.dto';
import { PayoutRefundService } from './payout-refund.service';
import { PayoutRetryService } from './payout-retry.service';
import { PayoutsService } from './payouts.service';

@ApiTags('ops')
@ApiBearerAuth('ops')
@UseGuards(OpsGuard)
@Controller('v1/ops/payouts')
export class OpsPayoutsController {
  constructor(
    private readonly retries: PayoutRetryService,
    private readonly refunds: PayoutRefundService,
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

  /** Records that a returned payout's money was given back to its platform: `returned` → `refunded`, booked. */
  @Post(':id/refund')
  @HttpCode(200)
  refund(@Param('id', IdPipe) id: string, @Body() dto: RefundPayoutDto): Promise<PayoutDto> {
    return this.refunds.refund(id, dto);
  }
}
