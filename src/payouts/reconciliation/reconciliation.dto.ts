import { ApiProperty } from '@nestjs/swagger';
import { IsString, Matches } from 'class-validator';
import { Satisfies } from '../../common/validation';
import { isPakistanInstant } from '../../invoices/pakistan-export';
import { ATTEMPT_STATUSES } from '../payout-status';
import { DISCREPANCY_KINDS } from './compare-books';

/**
 * An instant with its zone (a window that depends on the server's time zone would name another window), to the
 * millisecond at most: a finer one could not be kept exactly.
 */
const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/;

export class ReconciliationQuery {
  @ApiProperty({
    example: '2026-11-30T00:00:00Z',
    description: 'Start of the window (inclusive): an ISO 8601 instant.',
  })
  @IsString({ message: 'from must be an instant such as "2026-11-30T00:00:00Z"' })
  @Matches(INSTANT, {
    message:
      'from must be an instant with its zone, to the millisecond at most, such as "2026-11-30T00:00:00Z"',
  })
  @Satisfies(isPakistanInstant, 'from must be a real calendar instant, its offset within ±14:00')
  from: string;

  @ApiProperty({
    example: '2026-12-01T00:00:00Z',
    description: 'End of the window (exclusive): an ISO 8601 instant after `from`, at most 31 days after it.',
  })
  @IsString({ message: 'to must be an instant such as "2026-12-01T00:00:00Z"' })
  @Matches(INSTANT, {
    message:
      'to must be an instant with its zone, to the millisecond at most, such as "2026-12-01T00:00:00Z"',
  })
  @Satisfies(isPakistanInstant, 'to must be a real calendar instant, its offset within ±14:00')
  to: string;
}

export class ReconciliationOursDto {
  @ApiProperty() payoutId: string;
  @ApiProperty() attemptId: string;
  @ApiProperty({ enum: ATTEMPT_STATUSES }) status: string;
  @ApiProperty({ example: '1250.00', description: "The payout's gross, which is what is sent." })
  amount: string;
  @ApiProperty({ example: 'USD' }) currency: string;
  @ApiProperty({ description: 'When the attempt last changed.' }) updatedAt: string;
}

export class ReconciliationProviderDto {
  @ApiProperty() transferId: string;
  @ApiProperty({ enum: ['processing', 'settled', 'failed', 'returned'] }) state: string;
  @ApiProperty({ example: '1250.00' }) amount: string;
  @ApiProperty({ example: 'USD' }) currency: string;
  @ApiProperty() acceptedAt: string;
}

export class DiscrepancyDto {
  @ApiProperty({ enum: DISCREPANCY_KINDS }) kind: string;
  @ApiProperty() idempotencyKey: string;
  @ApiProperty({ type: ReconciliationOursDto, nullable: true }) ours: ReconciliationOursDto | null;
  @ApiProperty({ type: ReconciliationProviderDto, nullable: true })
  provider: ReconciliationProviderDto | null;
  @ApiProperty() detail: string;
}

export class StatementTotalsDto {
  @ApiProperty({ description: 'Transfers the provider accepted in the window.' }) transfers: number;
  @ApiProperty({ example: '0.00' }) processing: string;
  @ApiProperty({ example: '12500.00' }) settled: string;
  @ApiProperty({ example: '0.00' }) failed: string;
  @ApiProperty({ example: '0.00' }) returned: string;
}

export class ReconciliationReportDto {
  @ApiProperty() providerId: string;
  @ApiProperty() from: string;
  @ApiProperty() to: string;
  @ApiProperty({ description: 'When the provider and our books were read.' }) checkedAt: string;
  @ApiProperty({ type: StatementTotalsDto, description: "The provider's statement of the window, by state." })
  statement: StatementTotalsDto;
  @ApiProperty({ description: 'Transfers whose key, amount and state agree on both sides.' }) matched: number;
  @ApiProperty({
    description:
      'Attempts of ours created in the window that the provider accepted outside it: compared in the window that holds them.',
  })
  elsewhere: number;
  @ApiProperty({ type: [DiscrepancyDto] }) discrepancies: DiscrepancyDto[];
}
