import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query, UseGuards } from '@nestjs/common';
import { IdPipe } from '../common/id.pipe';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { PageQuery } from '../common/pagination';
import {
  CreatedApiKeyDto,
  CreatedPartnerDto,
  CreatePartnerDto,
  PartnerDto,
  PartnerPageDto,
} from './dto/partner.dto';
import { OpsGuard } from './ops.guard';
import { PartnersService } from './partners.service';

@ApiTags('ops')
@ApiBearerAuth('ops')
@UseGuards(OpsGuard)
@Controller('v1/ops/partners')
export class OpsPartnersController {
  constructor(private readonly partners: PartnersService) {}

  @Post()
  create(@Body() dto: CreatePartnerDto): Promise<CreatedPartnerDto> {
    return this.partners.createPartner(dto.name);
  }

  @Get()
  list(@Query() query: PageQuery): Promise<PartnerPageDto> {
    return this.partners.list(query);
  }

  @Get(':id')
  get(@Param('id', IdPipe) id: string): Promise<PartnerDto> {
    return this.partners.get(id);
  }

  @Post(':id/api-keys')
  createKey(@Param('id', IdPipe) id: string): Promise<CreatedApiKeyDto> {
    return this.partners.createApiKey(id);
  }

  @Delete(':id/api-keys/:apiKeyId')
  @HttpCode(204)
  revokeKey(@Param('id', IdPipe) id: string, @Param('apiKeyId', IdPipe) apiKeyId: string): Promise<void> {
    return this.partners.revokeApiKey(id, apiKeyId);
  }
}
