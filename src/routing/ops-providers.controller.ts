import { Controller, Get, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { OpsGuard } from '../partners/ops.guard';
import { ProviderDto, ProviderListDto } from './dto/route.dto';
import { ProviderHealthService } from './provider-health.service';

@ApiTags('ops')
@ApiBearerAuth('ops')
@UseGuards(OpsGuard)
@Controller('v1/ops/providers')
export class OpsProvidersController {
  constructor(private readonly health: ProviderHealthService) {}

  /** Every provider with its ops switch and circuit breaker. */
  @Get()
  @ApiOkResponse({ type: ProviderListDto })
  async list(): Promise<ProviderListDto> {
    return { data: await this.health.list() };
  }

  @Post(':providerId/disable')
  @HttpCode(200)
  @ApiOkResponse({ type: ProviderDto })
  disable(@Param('providerId') providerId: string): Promise<ProviderDto> {
    return this.health.disable(providerId);
  }

  /** Also closes the provider's circuit breaker: ops enabling it says it works again. */
  @Post(':providerId/enable')
  @HttpCode(200)
  @ApiOkResponse({ type: ProviderDto })
  enable(@Param('providerId') providerId: string): Promise<ProviderDto> {
    return this.health.enable(providerId);
  }
}
