import { Controller, Get, HttpCode, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { DataSource } from 'typeorm';
import { RedisService } from '../redis/redis.module';

@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(
    private readonly db: DataSource,
    private readonly redis: RedisService,
  ) {}

  @Get('live')
  @HttpCode(200)
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** 200 when Postgres and Redis both answer; 503 problem+json naming the one that does not. */
  @Get('ready')
  async ready(@Res() reply: FastifyReply): Promise<void> {
    const [postgres, redis] = await Promise.all([this.pingPostgres(), this.redis.ping()]);
    const checks = { postgres: postgres ? 'up' : 'down', redis: redis ? 'up' : 'down' };
    if (postgres && redis) {
      await reply.status(200).send({ status: 'ok', checks });
      return;
    }
    const down = Object.entries(checks)
      .filter(([, state]) => state === 'down')
      .map(([name]) => name);
    await reply
      .status(503)
      .type('application/problem+json')
      .send({
        type: 'https://payout-router.dev/problems/not-ready',
        title: 'Service Unavailable',
        status: 503,
        detail: `Not ready: ${down.join(' and ')} did not answer.`,
        checks,
      });
  }

  private async pingPostgres(): Promise<boolean> {
    try {
      await Promise.race([
        this.db.query('SELECT 1'),
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timeout')), 1000).unref()),
      ]);
      return true;
    } catch {
      return false;
    }
  }
}
