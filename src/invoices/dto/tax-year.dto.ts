import { ApiProperty } from '@nestjs/swagger';
import { EXPORT_STATUSES, ExportStatus } from '../invoice-view';
import { PurposeCode } from '../pakistan-export';
import { TaxYearLine, TaxYearSummary, TaxYearTotals } from '../tax-year';

export class TaxYearTotalsDto implements TaxYearTotals {
  @ApiProperty({ description: 'Invoices whose proceeds stand (realized, not returned).' }) invoices: number;
  @ApiProperty({ example: '1250.00' }) gross: string;
  @ApiProperty({ example: '51.25' }) routingFees: string;
  @ApiProperty({ example: '1198.75' }) netRealized: string;
  @ApiProperty({ example: '333792.94', description: 'Of the invoices that have a USD-PKR rate.' })
  pkrEquivalent: string;
  @ApiProperty({
    example: '11.99',
    description:
      'Income tax the bank withholds at realization (ITO s.154A), per invoice as its PDF shows it.',
  })
  withholdingUsd: string;
  @ApiProperty({ example: '3337.93', description: 'The same in PKR, of the invoices that have a rate.' })
  withholdingPkr: string;
  @ApiProperty({ example: '1198.75' }) esfcaRetained: string;
}

export class TaxYearPurposeDto extends TaxYearTotalsDto {
  @ApiProperty({ enum: ['9186', '9249'] }) purposeCode: PurposeCode;
}

export class TaxYearReturnedDto {
  @ApiProperty() invoices: number;
  @ApiProperty({ example: '0.00' }) netRealized: string;
}

export class TaxYearLineDto implements TaxYearLine {
  @ApiProperty() invoiceId: string;
  @ApiProperty({ example: 'INV-2026-000001' }) number: string;
  @ApiProperty({ example: '2026-11-23', description: 'The Pakistani day the proceeds were realized.' })
  realizedOn: string;
  @ApiProperty({ enum: EXPORT_STATUSES }) exportStatus: ExportStatus;
  @ApiProperty({ enum: ['9186', '9249'] }) purposeCode: PurposeCode;
  @ApiProperty({ example: '1198.75' }) netRealized: string;
  @ApiProperty({ type: String, nullable: true, example: '278.45' }) fxRate: string | null;
  @ApiProperty({ type: String, nullable: true, example: '333792.94' }) pkrEquivalent: string | null;
  @ApiProperty({ example: '1' }) withholdingRatePercent: string;
  @ApiProperty({ type: String, nullable: true }) prcNumber: string | null;
}

export class TaxYearDto implements TaxYearSummary {
  @ApiProperty() freelancerId: string;
  @ApiProperty({
    example: 2027,
    description: 'Named by the year it ends in: 2027 is 1 July 2026 to 30 June 2027.',
  })
  taxYear: number;
  @ApiProperty({ example: '2026-07-01' }) from: string;
  @ApiProperty({ example: '2027-06-30' }) to: string;
  @ApiProperty({ example: 'USD' }) currency: 'USD';
  @ApiProperty({ type: TaxYearTotalsDto }) totals: TaxYearTotalsDto;
  @ApiProperty({ type: [TaxYearPurposeDto] }) byPurposeCode: TaxYearPurposeDto[];
  @ApiProperty({ description: 'Realized invoices without a USD-PKR rate yet: missing from the PKR totals.' })
  withoutFxRate: number;
  @ApiProperty({ description: 'Realized invoices still waiting for their e-PRC.' }) awaitingPrc: number;
  @ApiProperty({ type: TaxYearReturnedDto, description: 'Proceeds realized in the year and returned since.' })
  returned: TaxYearReturnedDto;
  @ApiProperty({ type: [TaxYearLineDto], description: 'Every invoice realized in the year, in that order.' })
  lines: TaxYearLineDto[];
}
