import { ApiProperty, ApiPropertyOptional, OmitType } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  ArrayNotEmpty,
  ArrayUnique,
  IsArray,
  IsIn,
  IsOptional,
  IsString,
} from 'class-validator';
import { PageQuery } from '../../common/pagination';
import { Satisfies } from '../../common/validation';
import { isPakistanInstant } from '../../invoices/pakistan-export';
import { DEFAULT_EVENT_TYPES, PARTNER_EVENT_TYPES, PartnerEventType } from '../partner-events';

export class CreateWebhookEndpointDto {
  @ApiProperty({
    example: 'https://hooks.example.com/payout-router',
    description:
      'Absolute https:// URL that receives the events (outside production, http:// to localhost is taken too, for trying it out).',
  })
  @IsString({ message: 'url must be a string' })
  url: string;

  @ApiPropertyOptional({
    enum: PARTNER_EVENT_TYPES,
    isArray: true,
    description: `The event types to receive. Without it: ${DEFAULT_EVENT_TYPES.join(', ')}.`,
  })
  @IsOptional()
  @IsArray()
  @ArrayNotEmpty()
  @ArrayMaxSize(PARTNER_EVENT_TYPES.length)
  @ArrayUnique({ message: 'events must not name a type twice' })
  @IsIn(PARTNER_EVENT_TYPES, {
    each: true,
    message: `each of events must be one of ${PARTNER_EVENT_TYPES.join(', ')}`,
  })
  events?: PartnerEventType[];
}

export class WebhookEndpointDto {
  @ApiProperty() id: string;
  @ApiProperty() url: string;
  @ApiProperty({ enum: PARTNER_EVENT_TYPES, isArray: true, description: 'The event types it receives.' })
  events: PartnerEventType[];
  @ApiProperty() createdAt: string;
  @ApiProperty({
    type: String,
    nullable: true,
    description:
      'Until when deliveries are signed with a secret a rotation replaced too; null when no replaced secret works.',
  })
  previousSecretExpiresAt: string | null;
}

export class CreatedWebhookEndpointDto extends WebhookEndpointDto {
  @ApiProperty({
    description:
      'Shown once: whsec_ + base64 of 32 random bytes. Verify deliveries with any Standard Webhooks library.',
  })
  secret: string;
}

export class RotatedWebhookEndpointDto extends OmitType(CreatedWebhookEndpointDto, [
  'previousSecretExpiresAt',
] as const) {
  @ApiProperty({
    type: String,
    nullable: true,
    description:
      'Until when the secret this rotation replaced signs deliveries too; null when it stopped at once.',
  })
  previousSecretExpiresAt: string | null;
}

export class WebhookEndpointPageDto {
  @ApiProperty({ type: [WebhookEndpointDto] }) data: WebhookEndpointDto[];
  @ApiProperty({ type: String, nullable: true }) nextCursor: string | null;
}

export const DELIVERY_STATUSES = ['pending', 'delivered', 'failed', 'cancelled'] as const;

export class DeliveryQuery extends PageQuery {
  @ApiPropertyOptional({ enum: DELIVERY_STATUSES })
  @IsOptional()
  @IsIn(DELIVERY_STATUSES, { message: `status must be one of ${DELIVERY_STATUSES.join(', ')}` })
  status?: (typeof DELIVERY_STATUSES)[number];
}

/** An ISO-8601 date-time with its offset (`2026-11-29T00:00:00Z`), naming an instant the calendar has. */
const DATE_TIME_WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;
export const isInstant = (text: string) => DATE_TIME_WITH_OFFSET.test(text) && isPakistanInstant(text);

export class RecoverDeliveriesDto {
  @ApiProperty({
    example: '2026-11-29T00:00:00Z',
    description: 'The failed deliveries made at or after this instant are sent again.',
  })
  @IsString({ message: 'since must be a date-time with an offset, such as 2026-11-29T00:00:00Z' })
  @Satisfies(isInstant, 'since must be a date-time with an offset, such as 2026-11-29T00:00:00Z')
  since: string;
}

export class RecoveredDeliveriesDto {
  @ApiProperty({ description: 'How many failed deliveries are being sent again (at most 1,000 a call).' })
  redelivering: number;
}

export class WebhookDeliveryAttemptDto {
  @ApiProperty() attempt: number;
  @ApiProperty() at: string;
  @ApiProperty({ type: Number, nullable: true }) statusCode: number | null;
  @ApiProperty({ type: String, nullable: true }) error: string | null;
  @ApiProperty() durationMs: number;
}

export class WebhookDeliveryDto {
  @ApiProperty() id: string;
  @ApiProperty({ description: 'The event id, sent as webhook-id.' }) eventId: string;
  @ApiProperty({ enum: PARTNER_EVENT_TYPES })
  type: string;
  @ApiProperty({ enum: DELIVERY_STATUSES }) status: string;
  @ApiProperty() attempts: number;
  @ApiProperty({ type: String, nullable: true }) nextAttemptAt: string | null;
  @ApiProperty({ type: String, nullable: true }) deliveredAt: string | null;
  @ApiProperty({ type: [WebhookDeliveryAttemptDto] }) attemptLog: WebhookDeliveryAttemptDto[];
  @ApiProperty() createdAt: string;
}

export class WebhookDeliveryPageDto {
  @ApiProperty({ type: [WebhookDeliveryDto] }) data: WebhookDeliveryDto[];
  @ApiProperty({ type: String, nullable: true }) nextCursor: string | null;
}
