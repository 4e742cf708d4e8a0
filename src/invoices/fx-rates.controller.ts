import { Body, Controller, HttpCode, Put, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { OpsGuard } from '../partners/ops.guard';
import { FxRateDto, PutFxRateDto } from './dto/fx-rate.dto';
import { FxRatesService } from './fx-rates.service';

@ApiTags('ops')
@ApiBearerAuth('ops')
@UseGuards(OpsGuard)
@Controller('v1/ops/fx-rates')
export class FxRatesController {
  constructor(private readonly fxRates: FxRatesService) {}

  @Put('USD-PKR')
  @HttpCode(200)
  put(@Body() dto: PutFxRateDto): Promise<FxRateDto> {
    return this.fxRates.put(dto);
  }
}
