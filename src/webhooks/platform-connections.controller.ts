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
  CreatedPlatformConnectionDto,
  CreatePlatformConnectionDto,
  PlatformConnectionDto,
  PlatformConnectionPageDto,
  RotatedSigningSecretDto,
} from './dto/platform-connection.dto';
import { RotateSecretDto } from '../partners/dto/rotate-secret.dto';
import { RotateSecretRoute } from '../partners/rotate-secret.route';
import { PlatformConnectionsService } from './platform-connections.service';
import { IdempotencyKey, markOwnReplay, OwnReplayKeyInterceptor } from '../partners/idempotency.interceptor';

/**
 * Partner API, but without the shared idempotency interceptor: that store keeps response bodies in clear,
 * and this response carries the signing secret. The service replays Idempotency-Key itself.
 */
@ApiTags('platform connections')
@ApiBearerAuth('partner')
@UseGuards(PartnerGuard)
@Controller('v1/platform-connections')
export class PlatformConnectionsController {
  constructor(private readonly connections: PlatformConnectionsService) {}

  @Post()
  @UseInterceptors(OwnReplayKeyInterceptor)
  @ApiHeader({ name: 'Idempotency-Key', required: false, description: '1–255 characters.' })
  async create(
    @PartnerId() partnerId: string,
    @Body() dto: CreatePlatformConnectionDto,
    @IdempotencyKey() idempotencyKey: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<CreatedPlatformConnectionDto> {
    const { connection, replayed } = await this.connections.create(partnerId, dto, idempotencyKey);
    markOwnReplay(reply, idempotencyKey, replayed);
    return connection;
  }

  /** A fresh signing secret, shown once; the one it replaces verifies for a while longer (see the body). */
  @RotateSecretRoute()
  async rotateSecret(
    @PartnerId() partnerId: string,
    @Param('id', IdPipe) id: string,
    @Body() dto: RotateSecretDto,
    @IdempotencyKey() idempotencyKey: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<RotatedSigningSecretDto> {
    const { rotated, replayed } = await this.connections.rotateSecret(partnerId, id, dto, idempotencyKey);
    markOwnReplay(reply, idempotencyKey, replayed);
    return rotated;
  }

  @Get()
  list(@PartnerId() partnerId: string, @Query() query: PageQuery): Promise<PlatformConnectionPageDto> {
    return this.connections.list(partnerId, query);
  }

  @Get(':id')
  get(@PartnerId() partnerId: string, @Param('id', IdPipe) id: string): Promise<PlatformConnectionDto> {
    return this.connections.get(partnerId, id);
  }

  /** Webhooks to the connection answer 404 from now on; payouts it already made go on to the end. */
  @Delete(':id')
  @HttpCode(204)
  remove(@PartnerId() partnerId: string, @Param('id', IdPipe) id: string): Promise<void> {
    return this.connections.remove(partnerId, id);
  }
}
