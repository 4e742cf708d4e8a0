import { Body, Controller, Delete, Get, Param, Put, Query, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { OpsGuard } from '../../../partners/ops.guard';
import {
  SandboxSettingsDto,
  SandboxSettingsListDto,
  SandboxTransferPageDto,
  SandboxTransferQuery,
  UpdateSandboxSettingsDto,
} from './dto/sandbox.dto';
import { SandboxOpsService } from './sandbox-ops.service';

@ApiTags('ops')
@ApiBearerAuth('ops')
@UseGuards(OpsGuard)
@Controller('v1/ops/sandbox')
export class SandboxController {
  constructor(private readonly sandbox: SandboxOpsService) {}

  @Get('providers')
  @ApiOkResponse({ type: SandboxSettingsListDto })
  listSettings(): Promise<SandboxSettingsListDto> {
    return this.sandbox.listSettings();
  }

  /** Changes how the provider's sandbox behaves from now on; fields left out keep their value. */
  @Put('providers/:providerId')
  @ApiOkResponse({ type: SandboxSettingsDto })
  updateSettings(
    @Param('providerId') providerId: string,
    @Body() dto: UpdateSandboxSettingsDto,
  ): Promise<SandboxSettingsDto> {
    return this.sandbox.updateSettings(providerId, dto);
  }

  /** Back to the defaults: the happy path. */
  @Delete('providers/:providerId')
  @ApiOkResponse({ type: SandboxSettingsDto })
  resetSettings(@Param('providerId') providerId: string): Promise<SandboxSettingsDto> {
    return this.sandbox.resetSettings(providerId);
  }

  /** The transfers the sandbox providers accepted: the money that actually moved. */
  @Get('transfers')
  @ApiOkResponse({ type: SandboxTransferPageDto })
  listTransfers(@Query() query: SandboxTransferQuery): Promise<SandboxTransferPageDto> {
    return this.sandbox.listTransfers(query);
  }
}
