import { Controller, Get, Param, UseGuards } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { IdPipe } from '../common/id.pipe';
import { PublicRateLimitGuard } from '../partners/public-rate-limit.guard';
import { InvoiceVerificationDto, PublicKeyDto } from './dto/invoice.dto';
import { InvoiceDocumentsService } from './invoice-documents.service';

/** No credential: the key that verifies invoices, and the view a bank reaches from an invoice's QR code. */
@ApiTags('invoices')
@UseGuards(PublicRateLimitGuard)
@Controller()
export class InvoicesPublicController {
  constructor(private readonly documents: InvoiceDocumentsService) {}

  @Get('v1/invoices/public-key')
  publicKey(): PublicKeyDto {
    return this.documents.publicKey();
  }

  @Get('v1/public/invoices/:id/verify')
  verify(@Param('id', IdPipe) id: string): Promise<InvoiceVerificationDto> {
    return this.documents.verify(id);
  }
}
