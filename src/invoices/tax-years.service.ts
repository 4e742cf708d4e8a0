import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { FreelancersService } from '../freelancers/freelancers.service';
import { parseDecimal } from '../money/money';
import { TaxYearDto } from './dto/tax-year.dto';
import { ExportStatus } from './invoice-view';
import { PurposeCode } from './pakistan-export';
import { RealizedInvoice, summarizeTaxYear, taxYearPeriod } from './tax-year';

interface RealizedRow {
  id: string;
  number: string;
  realized_at: Date;
  export_status: ExportStatus;
  purpose_code: PurposeCode;
  pseb_registration_no: string | null;
  gross: string;
  routing_fees: string;
  net_realized: string;
  fx_rate: string | null;
  pkr_equivalent: string | null;
  esfca_retained: string | null;
  prc_number: string | null;
}

const nullable = (text: string | null) => (text === null ? null : parseDecimal(text));

/** A freelancer's export proceeds of one Pakistani tax year, read from the invoices that realized them. */
@Injectable()
export class TaxYearsService {
  constructor(
    private readonly db: DataSource,
    private readonly freelancers: FreelancersService,
  ) {}

  async statement(partnerId: string, freelancerId: string, taxYear: number): Promise<TaxYearDto> {
    await this.freelancers.requireOwned(partnerId, freelancerId);
    const period = taxYearPeriod(taxYear);
    const rows: RealizedRow[] = await this.db.query(
      `SELECT id, number, realized_at, export_status, issued_document::jsonb ->> 'purposeCode' AS purpose_code,
              issued_document::jsonb #>> '{exporter,psebRegistrationNo}' AS pseb_registration_no, gross::text AS gross,
              routing_fees::text AS routing_fees, net_realized::text AS net_realized, fx_rate::text AS fx_rate,
              pkr_equivalent::text AS pkr_equivalent, esfca_retained::text AS esfca_retained, prc_number
         FROM invoices
        WHERE partner_id = $1 AND freelancer_id = $2 AND realized_at >= $3 AND realized_at < $4
          AND net_realized IS NOT NULL
        ORDER BY realized_at, number`,
      [partnerId, freelancerId, period.start, period.end],
    );
    const invoices = rows.map((row): RealizedInvoice => ({
      invoiceId: row.id,
      number: row.number,
      realizedAt: row.realized_at,
      exportStatus: row.export_status,
      purposeCode: row.purpose_code,
      psebRegistrationNo: row.pseb_registration_no,
      gross: parseDecimal(row.gross),
      routingFees: parseDecimal(row.routing_fees),
      netRealized: parseDecimal(row.net_realized),
      fxRate: nullable(row.fx_rate),
      pkrEquivalent: nullable(row.pkr_equivalent),
      esfcaRetained: nullable(row.esfca_retained),
      prcNumber: row.prc_number,
    }));
    return {
      freelancerId,
      taxYear,
      from: period.from,
      to: period.to,
      currency: 'USD',
      ...summarizeTaxYear(invoices),
    };
  }
}
