import { Injectable } from '@nestjs/common';
import { Clock } from '../../../common/clock';
import { Problems } from '../../../common/problem';
import { maskIban } from '../../../freelancers/identifiers';
import { formatAmount } from '../../../money/money';
import {
  SandboxSettingsDto,
  SandboxSettingsListDto,
  SandboxTransferDto,
  SandboxTransferPageDto,
  SandboxTransferQuery,
  UpdateSandboxSettingsDto,
} from './dto/sandbox.dto';
import { SandboxSettings } from './sandbox-behaviour';
import { SandboxSettingsService } from './sandbox-settings.service';
import { SandboxTransfer, SandboxTransfersService } from './sandbox-transfers.service';

/** What ops see of the sandbox: each provider's behaviour, and the transfers the sandbox books hold. */
@Injectable()
export class SandboxOpsService {
  constructor(
    private readonly settings: SandboxSettingsService,
    private readonly transfers: SandboxTransfersService,
    private readonly clock: Clock,
  ) {}

  async listSettings(): Promise<SandboxSettingsListDto> {
    return { data: (await this.settings.list()).map(toSettingsDto) };
  }

  /** Fields left out keep their value; a body that names none changes nothing and is refused as such. */
  async updateSettings(
    providerId: string,
    dto: UpdateSandboxSettingsDto | null,
  ): Promise<SandboxSettingsDto> {
    if (!dto || Object.values(dto).every((value) => value === undefined)) {
      throw Problems.validation([{ field: 'body', message: 'name at least one setting to change' }]);
    }
    return toSettingsDto(await this.settings.update(providerId, dto));
  }

  async resetSettings(providerId: string): Promise<SandboxSettingsDto> {
    return toSettingsDto(await this.settings.reset(providerId));
  }

  async listTransfers(query: SandboxTransferQuery): Promise<SandboxTransferPageDto> {
    const { providerId, payoutId, ...page } = query;
    const found = await this.transfers.list({ providerId, payoutId }, page, this.clock.now());
    return { data: found.data.map(toTransferDto), nextCursor: found.nextCursor };
  }
}

function toSettingsDto(settings: SandboxSettings): SandboxSettingsDto {
  return { ...settings, updatedAt: settings.updatedAt?.toISOString() ?? null };
}

function toTransferDto(t: SandboxTransfer): SandboxTransferDto {
  return {
    id: t.id,
    providerId: t.providerId,
    idempotencyKey: t.idempotencyKey,
    payoutId: t.payoutId,
    attemptId: t.attemptId,
    routeId: t.routeId,
    amount: formatAmount(t.amount),
    currency: t.currency,
    beneficiaryName: t.beneficiaryName,
    beneficiaryIban: maskIban(t.beneficiaryIban),
    beneficiaryInstitution: t.beneficiaryInstitution,
    accountKind: t.accountKind,
    state: t.state,
    acceptedAt: t.acceptedAt.toISOString(),
    settlesAt: t.settlesAt.toISOString(),
    returnsAt: t.returnsAt?.toISOString() ?? null,
    returnReason: t.returnReason,
  };
}
