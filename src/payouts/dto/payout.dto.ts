import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, IsUUID, MaxLength } from 'class-validator';
import { NotBlank } from '../../common/validation';
import { PageQuery } from '../../common/pagination';
import { ATTEMPT_STATUSES, PAYOUT_STATUSES, PayoutStatus } from '../payout-status';

export class FeesDto {
  @ApiProperty({ example: '2.00' }) fixed: string;
  @ApiProperty({ example: '37.50' }) percent: string;
  @ApiProperty({ example: '0.00' }) fx: string;
  @ApiProperty({ example: '0.00' }) intermediary: string;
  @ApiProperty({ example: '39.50' }) total: string;
}

export class QuoteDto {
  @ApiProperty() routeId: string;
  @ApiProperty() provider: string;
  @ApiProperty() rail: string;
  @ApiProperty({ type: FeesDto }) fees: FeesDto;
  @ApiProperty({ example: '1210.50' }) net: string;
  @ApiProperty() etaHours: number;
  @ApiPropertyOptional({ description: 'Fee version the quote was computed on.' }) feeVersion?: number;
}

export class RejectedRouteDto {
  @ApiProperty() routeId: string;
  @ApiProperty() reason: string;
}

export class EarlierDecisionDto {
  @ApiProperty() decidedAt: string;
  @ApiProperty({ description: 'When a later routing of the payout replaced it.' }) replacedAt: string;
  @ApiProperty({ type: String, nullable: true, description: 'The dollar account it was made for.' })
  accountId: string | null;
  @ApiProperty({ enum: ['bank_fcy', 'fintech_usd'] }) accountKind: string;
  @ApiProperty({ type: String, nullable: true }) chosen: string | null;
  @ApiProperty({ type: [QuoteDto] }) candidates: QuoteDto[];
  @ApiProperty({ type: [RejectedRouteDto] }) rejected: RejectedRouteDto[];
  @ApiProperty({ type: [QuoteDto] }) standby: QuoteDto[];
}

export class AttemptDto {
  @ApiProperty() routeId: string;
  @ApiProperty({ enum: ATTEMPT_STATUSES }) status: string;
  @ApiPropertyOptional() error?: string;
  @ApiProperty() at: string;
}

export class TimelineEntryDto {
  @ApiProperty({ enum: PAYOUT_STATUSES }) status: string;
  @ApiProperty() at: string;
  @ApiPropertyOptional() detail?: string;
}

export class PayoutDto {
  @ApiProperty() id: string;
  @ApiProperty() connectionId: string;
  @ApiProperty() platform: string;
  @ApiProperty() platformPayoutId: string;
  @ApiProperty() freelancerRef: string;
  @ApiProperty({ type: String, nullable: true }) freelancerId: string | null;
  @ApiProperty({ example: '1250.00' }) gross: string;
  @ApiProperty({ example: 'USD' }) currency: string;
  @ApiProperty({ enum: PAYOUT_STATUSES }) status: PayoutStatus;
  @ApiProperty({ type: QuoteDto, nullable: true }) route: QuoteDto | null;
  @ApiProperty({ type: [QuoteDto] }) candidates: QuoteDto[];
  @ApiProperty({ type: [RejectedRouteDto] }) rejected: RejectedRouteDto[];
  @ApiProperty({
    type: [QuoteDto],
    description:
      'Rejected routes that only provider state held back (open breaker, provider disabled), quoted as if their ' +
      'providers were back: a failover may take one once its provider is.',
  })
  standby: QuoteDto[];
  @ApiProperty({
    type: [EarlierDecisionDto],
    description:
      'Decisions of earlier routings of this payout (before an ops retry), oldest first: what its earlier attempts were chosen from.',
  })
  earlierDecisions: EarlierDecisionDto[];
  @ApiProperty({ type: [AttemptDto] }) attempts: AttemptDto[];
  @ApiProperty({ type: FeesDto, nullable: true }) fees: FeesDto | null;
  @ApiProperty({ type: String, nullable: true }) net: string | null;
  @ApiProperty({ type: String, nullable: true }) invoiceId: string | null;
  @ApiProperty({ type: [TimelineEntryDto] }) timeline: TimelineEntryDto[];
  @ApiProperty({ type: String, nullable: true }) failureReason: string | null;
  @ApiProperty() createdAt: string;
}

export class PayoutPageDto {
  @ApiProperty({ type: [PayoutDto] }) data: PayoutDto[];
  @ApiProperty({ type: String, nullable: true }) nextCursor: string | null;
}

export class PayoutQuery extends PageQuery {
  @ApiPropertyOptional({ enum: PAYOUT_STATUSES })
  @IsOptional()
  @IsIn(PAYOUT_STATUSES, { message: `status must be one of ${PAYOUT_STATUSES.join(', ')}` })
  status?: PayoutStatus;

  @ApiPropertyOptional()
  @IsOptional()
  @IsUUID('all', { message: 'freelancerId must be a UUID' })
  freelancerId?: string;
}

export class OpsPayoutDto extends PayoutDto {
  @ApiProperty() partnerId: string;
}

export class OpsPayoutPageDto {
  @ApiProperty({ type: [OpsPayoutDto] }) data: OpsPayoutDto[];
  @ApiProperty({ type: String, nullable: true }) nextCursor: string | null;
}

export class OpsPayoutQuery extends PayoutQuery {
  @ApiPropertyOptional({ description: "Only this partner's payouts." })
  @IsOptional()
  @IsUUID('all', { message: 'partnerId must be a UUID' })
  partnerId?: string;
}

export class RefundPayoutDto {
  @ApiProperty({
    example: 'UPW-RF-000123',
    description: "What names the refund outside the service: the provider's or the platform's reference.",
  })
  @IsString()
  @MaxLength(200)
  @NotBlank()
  reference: string;
}
