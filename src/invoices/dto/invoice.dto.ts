import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, IsUUID, MaxLength } from 'class-validator';
import { PageQuery } from '../../common/pagination';
import { NotBlank, Printable, Satisfies } from '../../common/validation';
import {
  Exporter,
  EXPORT_STATUSES,
  ExportStatus,
  ForeignClient,
  InvoiceLine,
  InvoiceView,
  StatusChange,
} from '../invoice-view';
import { isPakistanInstant, PurposeCode } from '../pakistan-export';

export class ExporterDto implements Exporter {
  @ApiProperty({ example: 'Ayesha Khan' }) name: string;
  @ApiProperty({ example: '35202-1234567-1' }) cnic: string;
  @ApiProperty({ type: String, nullable: true, example: '1234567-8' }) ntn: string | null;
  @ApiProperty({ type: String, nullable: true, example: 'PSEB-F-12345' }) psebRegistrationNo: string | null;
}

export class ClientDto implements ForeignClient {
  @ApiProperty({ example: 'Acme Inc' }) name: string;
  @ApiProperty({ example: 'US', description: 'ISO 3166-1 alpha-2' }) country: string;
}

export class InvoiceLineDto implements InvoiceLine {
  @ApiProperty({ example: 'Web development, milestone 3' }) description: string;
  @ApiProperty({ example: 'software_development' }) serviceCategory: string;
  @ApiProperty({ example: '1250.00' }) amount: string;
}

export class FxDto {
  @ApiProperty({ example: 'USD-PKR' }) pair: 'USD-PKR';
  @ApiProperty({ example: '278.45' }) rate: string;
  @ApiProperty({ example: '2026-11-21' }) asOf: string;
}

export class StatusChangeDto implements StatusChange {
  @ApiProperty({ enum: EXPORT_STATUSES }) status: ExportStatus;
  @ApiProperty() at: string;
  @ApiPropertyOptional() detail?: string;
}

export class InvoiceRouteDto {
  @ApiProperty() routeId: string;
  @ApiProperty() provider: string;
  @ApiProperty() rail: string;
}

export class PrcDto {
  @ApiProperty() prcNumber: string;
  @ApiProperty() issuedAt: string;
  @ApiProperty() bank: string;
}

export class InvoiceDto implements InvoiceView {
  @ApiProperty() id: string;
  @ApiProperty({ example: 'INV-2026-000001' }) number: string;
  @ApiProperty() issuedAt: string;
  @ApiProperty({ type: ExporterDto }) exporter: ExporterDto;
  @ApiProperty({ type: ClientDto }) client: ClientDto;
  @ApiProperty({ type: [InvoiceLineDto] }) lines: InvoiceLineDto[];
  @ApiProperty({ example: 'USD' }) currency: 'USD';
  @ApiProperty({ example: '1250.00' }) gross: string;
  @ApiProperty({ type: String, nullable: true, example: '51.25' }) routingFees: string | null;
  @ApiProperty({ type: String, nullable: true, example: '1198.75' }) netRealized: string | null;
  @ApiProperty({ enum: ['9186', '9249'] }) purposeCode: PurposeCode;
  @ApiProperty({ type: FxDto, nullable: true }) fx: FxDto | null;
  @ApiProperty({ type: String, nullable: true, example: '333792.94' }) pkrEquivalent: string | null;
  @ApiProperty({
    type: String,
    nullable: true,
    description:
      'Information: what the bank keeps in the ESFCA (higher of USD 5,000 or 50%, at most the net).',
  })
  esfcaRetained: string | null;
  @ApiProperty({ type: String, nullable: true }) realizedAt: string | null;
  @ApiProperty({ enum: EXPORT_STATUSES }) exportStatus: ExportStatus;
  @ApiProperty({ type: [StatusChangeDto] }) statusHistory: StatusChangeDto[];
  @ApiProperty() payoutId: string;
  @ApiProperty() freelancerId: string;
  @ApiProperty({ type: InvoiceRouteDto, nullable: true }) route: InvoiceRouteDto | null;
  @ApiProperty({ type: PrcDto, nullable: true }) prc: PrcDto | null;
  @ApiProperty({ description: 'Lower-case hex SHA-256 of the RFC 8785 canonical JSON of the issued part.' })
  sha256: string;
  @ApiProperty({ description: 'Base64 Ed25519 signature of the UTF-8 bytes of sha256.' }) signature: string;
}

export class InvoicePageDto {
  @ApiProperty({ type: [InvoiceDto] }) data: InvoiceDto[];
  @ApiProperty({ type: String, nullable: true }) nextCursor: string | null;
}

export class InvoiceQuery extends PageQuery {
  @ApiPropertyOptional()
  @IsOptional()
  @IsUUID('all', { message: 'freelancerId must be a freelancer id' })
  freelancerId?: string;
}

export class RecordPrcDto {
  @ApiProperty({ example: 'PRC-2026-0001234' })
  @IsString()
  @MaxLength(100)
  @NotBlank()
  @Printable()
  prcNumber: string;

  @ApiProperty({
    example: '2026-11-23',
    description:
      'When the bank issued the e-PRC: a date (YYYY-MM-DD) or a date-time (YYYY-MM-DDTHH:MM[:SS[.fraction]], T or a space) with ' +
      'an offset (Z or ±HH:MM), or without one in Pakistan time; from the day the proceeds were realized to today, both in Pakistan.',
  })
  @IsString()
  @MaxLength(40)
  @Satisfies(
    isPakistanInstant,
    '$property must be a date (YYYY-MM-DD) or a date-time (YYYY-MM-DDTHH:MM[:SS[.fraction]][Z|±HH:MM])',
  )
  issuedAt: string;

  @ApiProperty({ example: 'Meezan Bank' })
  @IsString()
  @MaxLength(200)
  @NotBlank()
  @Printable()
  bank: string;
}

export class PublicKeyDto {
  @ApiProperty({ description: 'SPKI PEM of the Ed25519 key that signs invoices.' }) publicKeyPem: string;
}

export class InvoiceVerificationDto {
  @ApiProperty() number: string;
  @ApiProperty() issuedAt: string;
  @ApiProperty({ example: 'USD' }) currency: string;
  @ApiProperty() gross: string;
  @ApiProperty({ enum: EXPORT_STATUSES }) exportStatus: ExportStatus;
  @ApiProperty() sha256: string;
  @ApiProperty() signature: string;
}
