import { applyDecorators, HttpCode, Post, UseInterceptors } from '@nestjs/common';
import { ApiHeader } from '@nestjs/swagger';
import { OwnReplayKeyInterceptor } from './idempotency.interceptor';

/**
 * `POST :id/rotate-secret`, as platform connections and webhook endpoints both answer it: 200 with the new secret,
 * an Idempotency-Key replayed by the service itself (the answer holds a secret, which the shared store keeps in
 * clear, so the shared interceptor is not used).
 */
export function RotateSecretRoute(): MethodDecorator {
  return applyDecorators(
    Post(':id/rotate-secret'),
    HttpCode(200),
    UseInterceptors(OwnReplayKeyInterceptor),
    ApiHeader({ name: 'Idempotency-Key', required: false, description: '1–255 characters.' }),
  );
}
