import { Body, Controller, Get, HttpCode, Param, Post, Query, StreamableFile } from '@nestjs/common';
import { ApiOkResponse, ApiProduces, ApiTags } from '@nestjs/swagger';
import { IdPipe } from '../common/id.pipe';
import { HeldIdempotencyKey } from '../partners/idempotency.interceptor';
import { IdempotencyHold } from '../partners/idempotency.service';
import { PartnerApi } from '../partners/partner-api.decorator';
import { PartnerId } from '../partners/partner.guard';
import { InvoiceDto, InvoicePageDto, InvoiceQuery, RecordPrcDto } from './dto/invoice.dto';
import { InvoiceDocumentsService, RenderedInvoice } from './invoice-documents.service';
import { InvoicesService } from './invoices.service';

const BINARY = { schema: { type: 'string', format: 'binary' } };

function attachment(file: RenderedInvoice, type: string, extension: string): StreamableFile {
  return new StreamableFile(file.body, {
    type,
    length: file.body.length,
    disposition: `inline; filename="${file.number}.${extension}"`,
  });
}

@ApiTags('invoices')
@PartnerApi()
@Controller('v1/invoices')
export class InvoicesController {
  constructor(
    private readonly documents: InvoiceDocumentsService,
    private readonly invoices: InvoicesService,
  ) {}

  @Get()
  list(@PartnerId() partnerId: string, @Query() query: InvoiceQuery): Promise<InvoicePageDto> {
    return this.documents.list(partnerId, query);
  }

  @Get(':id')
  get(@PartnerId() partnerId: string, @Param('id', IdPipe) id: string): Promise<InvoiceDto> {
    return this.documents.get(partnerId, id);
  }

  @Get(':id/pdf')
  @ApiProduces('application/pdf')
  @ApiOkResponse(BINARY)
  async pdf(@PartnerId() partnerId: string, @Param('id', IdPipe) id: string): Promise<StreamableFile> {
    return attachment(await this.documents.pdf(partnerId, id), 'application/pdf', 'pdf');
  }

  @Get(':id/ubl')
  @ApiProduces('application/xml')
  @ApiOkResponse({ schema: { type: 'string', description: 'UBL 2.1 Invoice' } })
  async ubl(@PartnerId() partnerId: string, @Param('id', IdPipe) id: string): Promise<StreamableFile> {
    return attachment(await this.documents.ubl(partnerId, id), 'application/xml; charset=utf-8', 'xml');
  }

  @Post(':id/prc')
  @HttpCode(200)
  recordPrc(
    @PartnerId() partnerId: string,
    @Param('id', IdPipe) id: string,
    @Body() dto: RecordPrcDto,
    @HeldIdempotencyKey() hold: IdempotencyHold | null,
  ): Promise<InvoiceDto> {
    return this.invoices.recordPrc(partnerId, id, dto, hold);
  }
}
