import { Controller, Get, Param } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { IdPipe } from '../common/id.pipe';
import { Problems } from '../common/problem';
import { PartnerApi } from '../partners/partner-api.decorator';
import { PartnerId } from '../partners/partner.guard';
import { TaxYearDto } from './dto/tax-year.dto';
import { FIRST_TAX_YEAR, LAST_TAX_YEAR } from './tax-year';
import { TaxYearsService } from './tax-years.service';

/**
 * The path's year, read here rather than by a parameter pipe: the app's validation pipe, which runs first, would
 * turn a parameter typed as a number into one (`2027.0` into 2027) before it could be refused.
 */
function parseTaxYear(text: string): number {
  const year = /^\d{4}$/.test(text) ? Number(text) : NaN;
  if (!(year >= FIRST_TAX_YEAR && year <= LAST_TAX_YEAR)) {
    throw Problems.validation([
      {
        field: 'taxYear',
        message: `taxYear must be a year from ${FIRST_TAX_YEAR} to ${LAST_TAX_YEAR}, named by the June it ends in`,
      },
    ]);
  }
  return year;
}

@ApiTags('invoices')
@PartnerApi()
@Controller('v1/freelancers/:id/tax-years')
export class TaxYearsController {
  constructor(private readonly taxYears: TaxYearsService) {}

  @Get(':taxYear')
  statement(
    @PartnerId() partnerId: string,
    @Param('id', IdPipe) id: string,
    @Param('taxYear') taxYear: string,
  ): Promise<TaxYearDto> {
    return this.taxYears.statement(partnerId, id, parseTaxYear(taxYear));
  }
}
