import { Controller, Get, HttpCode, Param, Post, Query, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { IdPipe } from '../common/id.pipe';
import { OpsGuard } from '../partners/ops.guard';
import { EventQuery, WebhookEventDto, WebhookEventPageDto } from './dto/webhook-event.dto';
import { WebhookEventsService } from './webhook-events.service';
import { WebhookIntakeService } from './webhook-intake.service';

@ApiTags('ops')
@ApiBearerAuth('ops')
@UseGuards(OpsGuard)
@Controller('v1/ops/events')
export class OpsEventsController {
  constructor(
    private readonly events: WebhookEventsService,
    private readonly intake: WebhookIntakeService,
  ) {}

  @Get()
  list(@Query() query: EventQuery): Promise<WebhookEventPageDto> {
    return this.events.list(query);
  }

  /** Reads an ignored or rejected event again from its raw body, as intake would now; answers the event. */
  @Post(':id/reprocess')
  @HttpCode(200)
  reprocess(@Param('id', IdPipe) id: string): Promise<WebhookEventDto> {
    return this.intake.reprocess(id);
  }
}
