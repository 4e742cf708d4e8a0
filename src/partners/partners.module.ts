import { Global, Module } from '@nestjs/common';
import { RateLimiter } from '../common/rate-limiter';
import { IdempotencyInterceptor } from './idempotency.interceptor';
import { IdempotencyService } from './idempotency.service';
import { OpsGuard } from './ops.guard';
import { OpsPartnersController } from './ops-partners.controller';
import { PartnerGuard } from './partner.guard';
import { PartnersService } from './partners.service';

@Global()
@Module({
  controllers: [OpsPartnersController],
  providers: [
    PartnersService,
    PartnerGuard,
    OpsGuard,
    RateLimiter,
    IdempotencyService,
    IdempotencyInterceptor,
  ],
  exports: [PartnersService, PartnerGuard, OpsGuard, RateLimiter, IdempotencyService, IdempotencyInterceptor],
})
export class PartnersModule {}
