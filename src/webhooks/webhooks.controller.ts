import { Controller, HttpCode, Param, Post, Req, Res } from '@nestjs/common';
import { ApiBody, ApiHeader, ApiOkResponse, ApiAcceptedResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { IdPipe } from '../common/id.pipe';
import type { RawRequest } from '../create-app';
import { WebhookReceiptDto } from './dto/webhook-event.dto';
import { WebhookIntakeService } from './webhook-intake.service';

/** Platforms post here; they authenticate by signing the raw body with the connection's secret (no API key). */
@ApiTags('webhooks')
@Controller('v1/webhooks')
export class WebhooksController {
  constructor(private readonly intake: WebhookIntakeService) {}

  @Post(':connectionId')
  @HttpCode(202)
  @ApiHeader({ name: 'webhook-id', required: false, description: 'standard-webhooks scheme' })
  @ApiHeader({ name: 'webhook-timestamp', required: false, description: 'standard-webhooks scheme' })
  @ApiHeader({ name: 'webhook-signature', required: false, description: 'standard-webhooks scheme' })
  @ApiHeader({ name: 'Stripe-Signature', required: false, description: 'stripe scheme' })
  @ApiBody({ description: 'The platform event, verified on its exact bytes.', schema: { type: 'object' } })
  @ApiAcceptedResponse({ type: WebhookReceiptDto, description: 'New event, stored before this answer.' })
  @ApiOkResponse({
    type: WebhookReceiptDto,
    description: 'Duplicate event id, or a type the service ignores.',
  })
  async receive(
    @Param('connectionId', IdPipe) connectionId: string,
    @Req() request: RawRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<WebhookReceiptDto> {
    const answer = await this.intake.receive(connectionId, {
      rawBody: request.rawBody ?? Buffer.alloc(0),
      headers: request.headers,
      json: request.bodyIsNotJson || request.body === undefined ? null : { value: request.body },
    });
    void reply.status(answer.status);
    return answer.body;
  }
}
