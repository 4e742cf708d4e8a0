import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional } from 'class-validator';
import { PageQuery } from '../../common/pagination';
import { FieldError } from '../../common/problem';

export const EVENT_FILTERS = ['accepted', 'rejected', 'ignored', 'unmatched'] as const;
export type EventFilter = (typeof EVENT_FILTERS)[number];

export class WebhookReceiptDto {
  @ApiProperty({ description: 'The platform’s event id (webhook-id, or the Stripe event id).' })
  eventId: string;
  @ApiProperty() duplicate: boolean;
}

export class EventQuery extends PageQuery {
  @ApiPropertyOptional({
    enum: EVENT_FILTERS,
    description: 'unmatched: accepted events whose payout found no freelancer with its freelancerRef.',
  })
  @IsOptional()
  @IsIn(EVENT_FILTERS, { message: `status must be one of ${EVENT_FILTERS.join(', ')}` })
  status?: EventFilter;
}

export class FieldErrorDto {
  @ApiProperty() field: string;
  @ApiProperty() message: string;
}

export class WebhookEventDto {
  @ApiProperty() id: string;
  @ApiProperty() connectionId: string;
  @ApiProperty() partnerId: string;
  @ApiProperty({ description: 'The platform’s event id.' }) eventId: string;
  @ApiProperty({ type: String, nullable: true }) type: string | null;
  @ApiProperty({
    enum: EVENT_FILTERS,
    description: 'unmatched: accepted, and its payout found no freelancer with its freelancerRef (yet).',
  })
  status: EventFilter;
  @ApiProperty({ type: [FieldErrorDto], nullable: true }) errors: FieldError[] | null;
  @ApiProperty({ type: String, nullable: true }) payoutId: string | null;
  @ApiProperty({ type: String, nullable: true }) payoutStatus: string | null;
  @ApiProperty({ description: 'The body exactly as received, as UTF-8 text.' }) rawBody: string;
  @ApiProperty({ description: 'The headers that matter (never signatures).' }) headers: Record<
    string,
    string
  >;
  @ApiProperty() receivedAt: string;
}

export class WebhookEventPageDto {
  @ApiProperty({ type: [WebhookEventDto] }) data: WebhookEventDto[];
  @ApiProperty({ type: String, nullable: true }) nextCursor: string | null;
}
