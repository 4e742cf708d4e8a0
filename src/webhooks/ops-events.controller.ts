import { Controller, Get, Query, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { OpsGuard } from '../partners/ops.guard';
import { EventQuery, WebhookEventPageDto } from './dto/webhook-event.dto';
import { WebhookEventsService } from './webhook-events.service';

@ApiTags('ops')
@ApiBearerAuth('ops')
@UseGuards(OpsGuard)
@Controller('v1/ops/events')
export class OpsEventsController {
  constructor(private readonly events: WebhookEventsService) {}

  @Get()
  list(@Query() query: EventQuery): Promise<WebhookEventPageDto> {
    return this.events.list(query);
  }
}
