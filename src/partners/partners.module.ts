import { Global, Module } from '@nestjs/common';
import { RateLimiter } from '../common/rate-limiter';
import { ApiKeyCache } from './api-key-cache';
import { IdempotencyInterceptor } from './idempotency.interceptor';
import { IdempotencyService } from './idempotency.service';
import { OpsGuard } from './ops.guard';
import { OpsPartnersController } from './ops-partners.controller';
import { PartnerGuard } from './partner.guard';
import { PartnersService } from './partners.service';
import { PublicRateLimitGuard } from './public-rate-limit.guard';
import { RetentionSweeper } from './retention.sweeper';
import { SecretResealer } from './secret-resealer.service';

@Global()
@Module({
  controllers: [OpsPartnersController],
  providers: [
    ApiKeyCache,
    PartnersService,
    PartnerGuard,
    OpsGuard,
    PublicRateLimitGuard,
    RateLimiter,
    IdempotencyService,
    IdempotencyInterceptor,
    RetentionSweeper,
    SecretResealer,
  ],
  exports: [
    ApiKeyCache,
    PartnersService,
    PartnerGuard,
    OpsGuard,
    PublicRateLimitGuard,
    RateLimiter,
    IdempotencyService,
    IdempotencyInterceptor,
  ],
})
export class PartnersModule {}
