import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  Post,
  Query,
  Res,
  UseGuards,
  UseInterceptors,
} from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { IdPipe } from '../common/id.pipe';
import { PageQuery } from '../common/pagination';
import { PartnerGuard, PartnerId } from '../partners/partner.guard';
import {
  CreatedWebhookEndpointDto,
  CreateWebhookEndpointDto,
  DeliveryQuery,
  RotatedWebhookEndpointDto,
  RecoverDeliveriesDto,
  RecoveredDeliveriesDto,
  WebhookDeliveryDto,
  WebhookDeliveryPageDto,
  WebhookEndpointPageDto,
} from './dto/webhook-endpoint.dto';
import { WebhookEndpointsService } from './webhook-endpoints.service';
import {
  HeldIdempotencyKey,
  IdempotencyInterceptor,
  IdempotencyKey,
  markOwnReplay,
  OwnReplayKeyInterceptor,
} from '../partners/idempotency.interceptor';
import { IdempotencyHold } from '../partners/idempotency.service';
import { RotateSecretDto } from '../partners/dto/rotate-secret.dto';
import { RotateSecretRoute } from '../partners/rotate-secret.route';

/**
 * Partner API, but without the shared idempotency interceptor: that store keeps response bodies in clear,
 * and the creation response carries the signing secret. The service replays Idempotency-Key itself.
 */
@ApiTags('webhook endpoints')
@ApiBearerAuth('partner')
@UseGuards(PartnerGuard)
@Controller('v1/webhook-endpoints')
export class WebhookEndpointsController {
  constructor(private readonly endpoints: WebhookEndpointsService) {}

  @Post()
  @UseInterceptors(OwnReplayKeyInterceptor)
  @ApiHeader({ name: 'Idempotency-Key', required: false, description: '1–255 characters.' })
  async create(
    @PartnerId() partnerId: string,
    @Body() dto: CreateWebhookEndpointDto,
    @IdempotencyKey() idempotencyKey: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<CreatedWebhookEndpointDto> {
    const { endpoint, replayed } = await this.endpoints.create(partnerId, dto, idempotencyKey);
    markOwnReplay(reply, idempotencyKey, replayed);
    return endpoint;
  }

  /** A fresh signing secret, shown once; deliveries carry a signature with the replaced one too for a while. */
  @RotateSecretRoute()
  async rotateSecret(
    @PartnerId() partnerId: string,
    @Param('id', IdPipe) id: string,
    @Body() dto: RotateSecretDto,
    @IdempotencyKey() idempotencyKey: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<RotatedWebhookEndpointDto> {
    const { endpoint, replayed } = await this.endpoints.rotateSecret(partnerId, id, dto, idempotencyKey);
    markOwnReplay(reply, idempotencyKey, replayed);
    return endpoint;
  }

  @Get()
  list(@PartnerId() partnerId: string, @Query() query: PageQuery): Promise<WebhookEndpointPageDto> {
    return this.endpoints.list(partnerId, query);
  }

  @Delete(':id')
  @HttpCode(204)
  remove(@PartnerId() partnerId: string, @Param('id', IdPipe) id: string): Promise<void> {
    return this.endpoints.remove(partnerId, id);
  }

  /** Sends the delivery once more, now; answers it as it then stands (pending). */
  @Post(':id/deliveries/:deliveryId/redeliver')
  @HttpCode(202)
  @UseInterceptors(IdempotencyInterceptor)
  @ApiHeader({ name: 'Idempotency-Key', required: false, description: '1–255 characters.' })
  redeliver(
    @PartnerId() partnerId: string,
    @Param('id', IdPipe) id: string,
    @Param('deliveryId', IdPipe) deliveryId: string,
    @HeldIdempotencyKey() hold: IdempotencyHold | null,
  ): Promise<WebhookDeliveryDto> {
    return this.endpoints.redeliver(partnerId, id, deliveryId, hold);
  }

  /** Sends again the failed deliveries made since an instant, once each: for a partner back after an outage. */
  @Post(':id/recover')
  @HttpCode(202)
  @UseInterceptors(IdempotencyInterceptor)
  @ApiHeader({ name: 'Idempotency-Key', required: false, description: '1–255 characters.' })
  recover(
    @PartnerId() partnerId: string,
    @Param('id', IdPipe) id: string,
    @Body() dto: RecoverDeliveriesDto,
    @HeldIdempotencyKey() hold: IdempotencyHold | null,
  ): Promise<RecoveredDeliveriesDto> {
    return this.endpoints.recover(partnerId, id, dto.since, hold);
  }

  @Get(':id/deliveries')
  deliveries(
    @PartnerId() partnerId: string,
    @Param('id', IdPipe) id: string,
    @Query() query: DeliveryQuery,
  ): Promise<WebhookDeliveryPageDto> {
    return this.endpoints.deliveries(partnerId, id, query);
  }
}
