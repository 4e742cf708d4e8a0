import { ApiProperty } from '@nestjs/swagger';
import { IsString, Matches } from 'class-validator';
import { PageQuery } from '../../common/pagination';
import { EntryKinds } from '../payout-entries';

export class LedgerEntriesQuery extends PageQuery {
  @ApiProperty({ description: 'The payout whose entries to list.', format: 'uuid' })
  @IsString({ message: 'payoutId is required' })
  @Matches(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, {
    message: 'payoutId must be a UUID',
  })
  payoutId: string;
}

export class LedgerLineDto {
  @ApiProperty({ example: 'freelancer_in_transit:6f1c2a9e-0d3b-4f7a-9c1e-2b3d4e5f6a7b' }) account: string;
  @ApiProperty({ enum: ['debit', 'credit'] }) side: 'debit' | 'credit';
  @ApiProperty({ example: '1250.00' }) amount: string;
  @ApiProperty({ example: 'USD' }) currency: string;
}

export class LedgerEntryDto {
  @ApiProperty() id: string;
  @ApiProperty({ enum: Object.values(EntryKinds) })
  kind: string;
  @ApiProperty({ type: String, nullable: true }) payoutId: string | null;
  @ApiProperty({ type: String, nullable: true, description: 'The entry this one reverses.' })
  reversesEntryId: string | null;
  @ApiProperty() description: string;
  @ApiProperty() createdAt: string;
  @ApiProperty({ type: [LedgerLineDto] }) lines: LedgerLineDto[];
}

export class LedgerEntryPageDto {
  @ApiProperty({ type: [LedgerEntryDto] }) data: LedgerEntryDto[];
  @ApiProperty({ type: String, nullable: true }) nextCursor: string | null;
}

export class FreelancerBalanceDto {
  @ApiProperty({ example: 'USD' }) currency: 'USD';
  @ApiProperty({ example: '1180.50', description: 'Nets delivered to the dollar account, less returns.' })
  settled: string;
  @ApiProperty({ example: '250.00', description: 'Gross of payouts routed and not yet settled or failed.' })
  inTransit: string;
  @ApiProperty({
    example: '0.00',
    description:
      'Beyond the contract: nets returned after settling, held for the freelancer until ops send them again or give them back.',
  })
  returned: string;
}

export class TrialBalanceCurrencyDto {
  @ApiProperty({ example: 'USD' }) currency: string;
  @ApiProperty({ example: '1250.00', description: 'Sum of the debit balances of all accounts.' })
  debits: string;
  @ApiProperty({ example: '1250.00', description: 'Sum of the credit balances of all accounts.' })
  credits: string;
}

export class TrialBalanceDto {
  @ApiProperty({ type: [TrialBalanceCurrencyDto] }) currencies: TrialBalanceCurrencyDto[];
}
