import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, IsNumber, IsOptional, IsString, Length, Max, Min, ValidateIf } from 'class-validator';
import { PageQuery } from '../../../../common/pagination';
import { MAX_DELAY_MS } from '../sandbox-behaviour';

/** Present fields must be valid; absent ones keep their current value. null is refused, not taken as "keep". */
const present = (_: object, value: unknown) => value !== undefined;

export class UpdateSandboxSettingsDto {
  @ApiPropertyOptional({
    minimum: 0,
    maximum: MAX_DELAY_MS,
    example: 150,
    description: 'Milliseconds every send takes (status lookups and statements answer at once).',
  })
  @ValidateIf(present)
  @IsInt({ message: 'latencyMs must be a whole number of milliseconds' })
  @Min(0)
  @Max(MAX_DELAY_MS)
  latencyMs?: number;

  @ApiPropertyOptional({
    minimum: 0,
    maximum: MAX_DELAY_MS,
    example: 2000,
    description: 'Milliseconds from acceptance to settlement (and from settlement to a return).',
  })
  @ValidateIf(present)
  @IsInt({ message: 'settleAfterMs must be a whole number of milliseconds' })
  @Min(0)
  @Max(MAX_DELAY_MS)
  settleAfterMs?: number;

  @ApiPropertyOptional({
    minimum: 0,
    maximum: 1,
    example: 0.1,
    description: 'Share of sends refused for now; nothing created.',
  })
  @ValidateIf(present)
  @IsNumber({ allowNaN: false, allowInfinity: false }, { message: 'transientFailureRate must be a number' })
  @Min(0)
  @Max(1)
  transientFailureRate?: number;

  @ApiPropertyOptional({
    minimum: 0,
    maximum: 1,
    example: 0,
    description: 'Share of sends rejected for good; nothing created.',
  })
  @ValidateIf(present)
  @IsNumber({ allowNaN: false, allowInfinity: false }, { message: 'permanentFailureRate must be a number' })
  @Min(0)
  @Max(1)
  permanentFailureRate?: number;

  @ApiPropertyOptional({
    minimum: 0,
    maximum: 1,
    example: 0.05,
    description: 'Share of sends that time out (half of them after creating the transfer).',
  })
  @ValidateIf(present)
  @IsNumber({ allowNaN: false, allowInfinity: false }, { message: 'timeoutRate must be a number' })
  @Min(0)
  @Max(1)
  timeoutRate?: number;

  @ApiPropertyOptional({
    minimum: 0,
    maximum: 1,
    example: 0,
    description: 'Share of accepted transfers returned after settling.',
  })
  @ValidateIf(present)
  @IsNumber({ allowNaN: false, allowInfinity: false }, { message: 'returnRate must be a number' })
  @Min(0)
  @Max(1)
  returnRate?: number;
}

export class SandboxSettingsDto {
  @ApiProperty({ example: 'payoneer' }) providerId: string;
  @ApiProperty({ example: 0 }) latencyMs: number;
  @ApiProperty({ example: 2000 }) settleAfterMs: number;
  @ApiProperty({ example: 0 }) transientFailureRate: number;
  @ApiProperty({ example: 0 }) permanentFailureRate: number;
  @ApiProperty({ example: 0 }) timeoutRate: number;
  @ApiProperty({ example: 0 }) returnRate: number;
  @ApiProperty({ type: String, nullable: true, description: 'null while the defaults apply' })
  updatedAt: string | null;
}

export class SandboxSettingsListDto {
  @ApiProperty({ type: [SandboxSettingsDto] }) data: SandboxSettingsDto[];
}

export class SandboxTransferQuery extends PageQuery {
  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @Length(1, 100)
  providerId?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @Length(1, 100)
  payoutId?: string;
}

export class SandboxTransferDto {
  @ApiProperty() id: string;
  @ApiProperty() providerId: string;
  @ApiProperty() idempotencyKey: string;
  @ApiProperty() payoutId: string;
  @ApiProperty() attemptId: string;
  @ApiProperty() routeId: string;
  @ApiProperty({ example: '1250.00' }) amount: string;
  @ApiProperty({ example: 'USD' }) currency: string;
  @ApiProperty() beneficiaryName: string;
  @ApiProperty({ description: 'Masked: bank code and last four characters.' }) beneficiaryIban: string;
  @ApiProperty() beneficiaryInstitution: string;
  @ApiProperty({ enum: ['bank_fcy', 'fintech_usd'] }) accountKind: string;
  @ApiProperty({ enum: ['processing', 'settled', 'returned'] }) state: string;
  @ApiProperty() acceptedAt: string;
  @ApiProperty() settlesAt: string;
  @ApiProperty({ type: String, nullable: true }) returnsAt: string | null;
  @ApiProperty({ type: String, nullable: true }) returnReason: string | null;
}

export class SandboxTransferPageDto {
  @ApiProperty({ type: [SandboxTransferDto] }) data: SandboxTransferDto[];
  @ApiProperty({ type: String, nullable: true }) nextCursor: string | null;
}
