import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsInt, IsOptional, Max, Min, ValidateIf } from 'class-validator';
import { BREAKER_PHASES, type BreakerPhase } from '../breaker';
import { IsDecimalString } from './decimal-string';

const FEE = { fractionDigits: 2, min: '0', max: '1000000.00' };
const LIMIT = { fractionDigits: 2, min: '0', minExclusive: true, max: '1000000.00' };
const given = (_: object, value: unknown) => value !== undefined;

/** A route of the catalog with its current fee version. */
export class RouteDto {
  @ApiProperty({ example: 'upwork-payoneer-usd' }) id: string;
  @ApiProperty({ example: 'payoneer' }) provider: string;
  @ApiProperty({ example: 'payoneer_withdrawal' }) rail: string;
  @ApiProperty({ type: [String], example: ['upwork'] }) platforms: string[];
  @ApiProperty({ type: [String], example: ['bank_fcy'] }) accountKinds: string[];
  @ApiProperty({ example: 'USD' }) deliversCurrency: string;
  @ApiProperty({ example: '2.00' }) fixedFee: string;
  @ApiProperty({ example: '3.00', description: 'Percent of gross.' }) percentFee: string;
  @ApiProperty({ type: String, nullable: true, example: null }) percentMin: string | null;
  @ApiProperty({ type: String, nullable: true, example: null }) percentMax: string | null;
  @ApiProperty({ example: 0 }) fxSpreadBps: number;
  @ApiProperty({ example: '0.00' }) intermediaryFee: string;
  @ApiProperty({ example: '0.01' }) minAmount: string;
  @ApiProperty({ example: '1000000.00' }) maxAmount: string;
  @ApiProperty({ example: 96 }) etaHours: number;
  @ApiProperty() active: boolean;
  @ApiProperty({ description: 'Where the figures come from.' }) confidence: string;
  @ApiProperty({ example: 1 }) feeVersion: number;
  @ApiProperty({ example: '2026-11-23T10:00:00.000Z' }) feesValidFrom: string;
}

export class RouteListDto {
  @ApiProperty({ type: [RouteDto] }) data: RouteDto[];
}

/**
 * A change to one route. Any fee field makes a new fee version valid from now (earlier payouts keep the
 * version they were routed on); fields left out keep their current value; `null` clears a floor or a cap.
 */
export class UpdateRouteDto {
  @ApiPropertyOptional({ example: '2.00' })
  @ValidateIf(given)
  @IsDecimalString(FEE)
  fixedFee?: string;

  @ApiPropertyOptional({ example: '3.00', description: 'Percent of gross, two fraction digits at most.' })
  @ValidateIf(given)
  @IsDecimalString({ fractionDigits: 2, min: '0', max: '99.99' })
  percentFee?: string;

  @ApiPropertyOptional({ type: String, nullable: true, example: '1.00' })
  @IsOptional()
  @IsDecimalString(FEE)
  percentMin?: string | null;

  @ApiPropertyOptional({ type: String, nullable: true, example: '25.00' })
  @IsOptional()
  @IsDecimalString(FEE)
  percentMax?: string | null;

  @ApiPropertyOptional({ example: 150, description: 'Whole basis points of gross.' })
  @ValidateIf(given)
  @IsInt({ message: 'fxSpreadBps must be a whole number of basis points' })
  @Min(0)
  @Max(9999)
  fxSpreadBps?: number;

  @ApiPropertyOptional({ example: '20.00' })
  @ValidateIf(given)
  @IsDecimalString(FEE)
  intermediaryFee?: string;

  @ApiPropertyOptional({ example: '0.01' })
  @ValidateIf(given)
  @IsDecimalString(LIMIT)
  minAmount?: string;

  @ApiPropertyOptional({ example: '1000000.00' })
  @ValidateIf(given)
  @IsDecimalString(LIMIT)
  maxAmount?: string;

  @ApiPropertyOptional({ example: 96 })
  @ValidateIf(given)
  @IsInt({ message: 'etaHours must be a whole number of hours' })
  @Min(1)
  @Max(8760)
  etaHours?: number;

  @ApiPropertyOptional({ description: 'Inactive routes are never quoted.' })
  @ValidateIf(given)
  @IsBoolean()
  active?: boolean;
}

export class ProviderDto {
  @ApiProperty({ example: 'payoneer' }) id: string;
  @ApiProperty({ example: 'Payoneer' }) name: string;
  @ApiProperty({ description: 'Switched by ops; a disabled provider’s routes are never chosen.' })
  enabled: boolean;
  @ApiProperty({
    enum: BREAKER_PHASES,
    description: 'Circuit breaker: open and trial_in_flight reject the provider’s routes as unhealthy.',
  })
  breaker: BreakerPhase;
}

export class ProviderListDto {
  @ApiProperty({ type: [ProviderDto] }) data: ProviderDto[];
}
