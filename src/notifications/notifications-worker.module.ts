import { Module } from '@nestjs/common';
import { NotificationsModule } from './notifications.module';
import { PartnerEventsDispatcher } from './partner-events.dispatcher';
import { PartnerWebhookProcessor } from './partner-webhook.processor';
import { WebhookDeliveryService } from './webhook-delivery.service';

/** The worker role of partner webhooks: event dispatcher and delivery processor. Only when ROLE is worker or all. */
@Module({
  imports: [NotificationsModule],
  providers: [PartnerEventsDispatcher, WebhookDeliveryService, PartnerWebhookProcessor],
})
export class NotificationsWorkerModule {}
