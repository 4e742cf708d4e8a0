import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { IdPipe } from '../common/id.pipe';
import { PartnerApi } from '../partners/partner-api.decorator';
import { PartnerId } from '../partners/partner.guard';
import { PayoutDto, PayoutPageDto, PayoutQuery } from './dto/payout.dto';
import { PayoutsService } from './payouts.service';

@ApiTags('payouts')
@PartnerApi()
@Controller('v1/payouts')
export class PayoutsController {
  constructor(private readonly payouts: PayoutsService) {}

  @Get()
  list(@PartnerId() partnerId: string, @Query() query: PayoutQuery): Promise<PayoutPageDto> {
    return this.payouts.list(partnerId, query);
  }

  @Get(':id')
  get(@PartnerId() partnerId: string, @Param('id', IdPipe) id: string): Promise<PayoutDto> {
    return this.payouts.get(partnerId, id);
  }
}
