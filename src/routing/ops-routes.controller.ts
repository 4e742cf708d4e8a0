import { Body, Controller, Get, Param, Patch, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { OpsGuard } from '../partners/ops.guard';
import { CatalogService } from './catalog.service';
import { RouteDto, RouteListDto, UpdateRouteDto } from './dto/route.dto';

@ApiTags('ops')
@ApiBearerAuth('ops')
@UseGuards(OpsGuard)
@Controller('v1/ops/routes')
export class OpsRoutesController {
  constructor(private readonly catalog: CatalogService) {}

  /** The catalog with each route's current fee version. */
  @Get()
  @ApiOkResponse({ type: RouteListDto })
  async list(): Promise<RouteListDto> {
    return { data: await this.catalog.listRoutes() };
  }

  /** A fee change becomes a new fee version from now on; payouts keep the version they were routed on. */
  @Patch(':routeId')
  @ApiOkResponse({ type: RouteDto })
  update(@Param('routeId') routeId: string, @Body() dto: UpdateRouteDto): Promise<RouteDto> {
    return this.catalog.updateRoute(routeId, dto);
  }
}
