import { Module } from '@nestjs/common';
import { FxRatesController } from './fx-rates.controller';
import { FxRatesService } from './fx-rates.service';
import { InvoiceDocumentsService } from './invoice-documents.service';
import { InvoiceSigner } from './invoice-signer.service';
import { InvoicesPublicController } from './invoices-public.controller';
import { InvoicesController } from './invoices.controller';
import { InvoicesService } from './invoices.service';

@Module({
  controllers: [InvoicesPublicController, InvoicesController, FxRatesController],
  providers: [InvoiceSigner, FxRatesService, InvoiceDocumentsService, InvoicesService],
  exports: [InvoicesService, InvoiceDocumentsService, FxRatesService],
})
export class InvoicesModule {}
