import { Module } from '@nestjs/common';
import { PartnersModule } from '../partners/partners.module';
import { WebhookEndpointsController } from './webhook-endpoints.controller';
import { WebhookEndpointsService } from './webhook-endpoints.service';

/** Partner webhooks (CONTRACT.md §5), API side: endpoint registration and delivery history. */
@Module({
  imports: [PartnersModule],
  controllers: [WebhookEndpointsController],
  providers: [WebhookEndpointsService],
  exports: [WebhookEndpointsService],
})
export class NotificationsModule {}
