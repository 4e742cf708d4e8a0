import { Module } from '@nestjs/common';
import { OpsEventsController } from './ops-events.controller';
import { PlatformConnectionsController } from './platform-connections.controller';
import { PlatformConnectionsService } from './platform-connections.service';
import { WebhookEventsService } from './webhook-events.service';
import { WebhookIntakeService } from './webhook-intake.service';
import { WebhookOutboxSweeper } from './webhook-outbox.sweeper';
import { WebhooksController } from './webhooks.controller';

@Module({
  controllers: [WebhooksController, PlatformConnectionsController, OpsEventsController],
  providers: [PlatformConnectionsService, WebhookEventsService, WebhookIntakeService, WebhookOutboxSweeper],
  exports: [PlatformConnectionsService, WebhookEventsService],
})
export class WebhooksModule {}
