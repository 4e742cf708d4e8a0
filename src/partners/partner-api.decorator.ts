import { applyDecorators, UseGuards, UseInterceptors } from '@nestjs/common';
import { ApiBearerAuth, ApiHeader } from '@nestjs/swagger';
import { IdempotencyInterceptor } from './idempotency.interceptor';
import { PartnerGuard } from './partner.guard';

/** Marks a controller as partner API: key auth, rate limit, Idempotency-Key on POSTs. */
export function PartnerApi(): ClassDecorator & MethodDecorator {
  return applyDecorators(
    ApiBearerAuth('partner'),
    ApiHeader({ name: 'Idempotency-Key', required: false, description: '1–255 characters; POST only.' }),
    UseGuards(PartnerGuard),
    UseInterceptors(IdempotencyInterceptor),
  );
}
