import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { PartnerApi } from '../partners/partner-api.decorator';
import { QuoteRequestDto, QuoteResponseDto } from './dto/quote.dto';
import { RoutingService } from './routing.service';

@ApiTags('quotes')
@PartnerApi()
@Controller('v1/quotes')
export class QuotesController {
  constructor(private readonly routing: RoutingService) {}

  /** Every route of the catalog for this payout: eligible ones ranked best first, the others with a reason. */
  @Post()
  @HttpCode(200)
  @ApiOkResponse({ type: QuoteResponseDto })
  quote(@Body() dto: QuoteRequestDto): Promise<QuoteResponseDto> {
    return this.routing.quote(dto);
  }
}
