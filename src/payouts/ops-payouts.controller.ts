import { Controller, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { IdPipe } from '../common/id.pipe';
import { OpsGuard } from '../partners/ops.guard';
import { PayoutDto } from './dto/payout.dto';
import { PayoutRetryService } from './payout-retry.service';

@ApiTags('ops')
@ApiBearerAuth('ops')
@UseGuards(OpsGuard)
@Controller('v1/ops/payouts')
export class OpsPayoutsController {
  constructor(private readonly retries: PayoutRetryService) {}

  /** Re-runs routing for an unmatched or failed payout (after the partner registered the freelancer, say). */
  @Post(':id/retry')
  @HttpCode(200)
  retry(@Param('id', IdPipe) id: string): Promise<PayoutDto> {
    return this.retries.retry(id);
  }
}
