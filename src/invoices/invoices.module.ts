import { Module } from '@nestjs/common';
import { FreelancersModule } from '../freelancers/freelancers.module';
import { FxRatesController } from './fx-rates.controller';
import { FxRatesService } from './fx-rates.service';
import { InvoiceDocumentsService } from './invoice-documents.service';
import { InvoiceSigner } from './invoice-signer.service';
import { InvoicesPublicController } from './invoices-public.controller';
import { InvoicesController } from './invoices.controller';
import { InvoicesService } from './invoices.service';
import { TaxYearsController } from './tax-years.controller';
import { TaxYearsService } from './tax-years.service';

@Module({
  imports: [FreelancersModule],
  controllers: [InvoicesPublicController, InvoicesController, FxRatesController, TaxYearsController],
  providers: [InvoiceSigner, FxRatesService, InvoiceDocumentsService, InvoicesService, TaxYearsService],
  exports: [InvoicesService, InvoiceDocumentsService, FxRatesService],
})
export class InvoicesModule {}
