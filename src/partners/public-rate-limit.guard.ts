import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { RateLimiter } from '../common/rate-limiter';

/**
 * Endpoints anyone may call (an invoice's QR code leads a bank to one): a rate limit per client address, so
 * nobody can turn them into free load on Postgres. Behind a proxy the address is the one it forwards.
 */
@Injectable()
export class PublicRateLimitGuard implements CanActivate {
  constructor(
    private readonly limiter: RateLimiter,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    await this.limiter.consume('public-ip', request.ip, this.config.publicRateLimitPerSecond);
    return true;
  }
}
