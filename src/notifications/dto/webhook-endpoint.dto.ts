import { ApiProperty } from '@nestjs/swagger';
import { IsString } from 'class-validator';
import { PARTNER_EVENT_TYPES } from '../partner-events';

export class CreateWebhookEndpointDto {
  @ApiProperty({
    example: 'https://hooks.example.com/payout-router',
    description: 'Absolute https:// URL that receives the events.',
  })
  @IsString({ message: 'url must be a string' })
  url: string;
}

export class WebhookEndpointDto {
  @ApiProperty() id: string;
  @ApiProperty() url: string;
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

export class WebhookEndpointPageDto {
  @ApiProperty({ type: [WebhookEndpointDto] }) data: WebhookEndpointDto[];
  @ApiProperty({ type: String, nullable: true }) nextCursor: string | null;
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
  @ApiProperty({ enum: ['pending', 'delivered', 'failed', 'cancelled'] }) status: string;
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
