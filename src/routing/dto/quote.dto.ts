import { ApiProperty } from '@nestjs/swagger';
import { IsIn } from 'class-validator';
import { ACCOUNT_KINDS, type AccountKind } from '../../freelancers/dto/freelancer.dto';
import { CATALOG_PLATFORMS } from '../catalog';
import { REJECTION_REASONS, type RejectionReason } from '../ranking';
import { IsDecimalString } from './decimal-string';

/** The largest payout the service accepts anywhere (the webhook limit of the contract). */
export const MAX_PAYOUT_AMOUNT = '1000000.00';

export class QuoteRequestDto {
  @ApiProperty({ enum: CATALOG_PLATFORMS, example: 'upwork' })
  @IsIn(CATALOG_PLATFORMS, { message: `platform must be one of ${CATALOG_PLATFORMS.join(', ')}` })
  platform: string;

  @ApiProperty({
    example: '1250.00',
    description: `Gross USD as a decimal string: more than 0, at most ${MAX_PAYOUT_AMOUNT}, two fraction digits at most.`,
  })
  @IsDecimalString({ fractionDigits: 2, min: '0', minExclusive: true, max: MAX_PAYOUT_AMOUNT })
  amount: string;

  @ApiProperty({ enum: ['USD'] })
  @IsIn(['USD'], { message: 'currency must be "USD"' })
  currency: 'USD';

  @ApiProperty({ enum: ACCOUNT_KINDS })
  @IsIn(ACCOUNT_KINDS, { message: `accountKind must be one of ${ACCOUNT_KINDS.join(', ')}` })
  accountKind: AccountKind;
}

export class QuoteFeesDto {
  @ApiProperty({ example: '2.00', description: 'Exact, up to six fraction digits.' }) fixed: string;
  @ApiProperty({ example: '37.50', description: 'Exact, up to six fraction digits.' }) percent: string;
  @ApiProperty({ example: '0.00', description: 'Exact, up to six fraction digits.' }) fx: string;
  @ApiProperty({ example: '0.00', description: 'Exact, up to six fraction digits.' }) intermediary: string;
  @ApiProperty({ example: '39.50', description: 'The sum, rounded half-up to cents.' }) total: string;
}

export class QuoteDto {
  @ApiProperty({ example: 'upwork-payoneer-usd' }) routeId: string;
  @ApiProperty({ example: 'payoneer' }) provider: string;
  @ApiProperty({ example: 'payoneer_withdrawal' }) rail: string;
  @ApiProperty({ type: QuoteFeesDto }) fees: QuoteFeesDto;
  @ApiProperty({ example: '1210.50' }) net: string;
  @ApiProperty({ example: 96 }) etaHours: number;
  @ApiProperty({ example: 1, description: 'The fee version of the route the figures come from.' })
  feeVersion: number;
}

export class RejectedRouteDto {
  @ApiProperty({ example: 'upwork-local-bank-pkr' }) routeId: string;
  @ApiProperty({
    enum: REJECTION_REASONS,
    description: 'The first reason that applies, in the order listed.',
  })
  reason: RejectionReason;
}

export class QuoteResponseDto {
  @ApiProperty({ type: String, nullable: true, example: 'upwork-payoneer-usd' }) chosen: string | null;
  @ApiProperty({ type: [QuoteDto], description: 'Eligible routes, best first.' }) quotes: QuoteDto[];
  @ApiProperty({ type: [RejectedRouteDto], description: 'Every other route of the catalog, by route id.' })
  rejected: RejectedRouteDto[];
}
