import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { BEARER_CHALLENGE, INVALID_TOKEN_CHALLENGE, Problems } from '../common/problem';
import { bearerToken, constantTimeEquals } from './api-key';

/** Ops endpoints: `Authorization: Bearer $OPS_TOKEN`, compared in constant time. */
@Injectable()
export class OpsGuard implements CanActivate {
  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    if (!isOpsRequest(request.headers.authorization, this.config.opsToken)) {
      const sent = bearerToken(request.headers.authorization) !== null;
      throw Problems.unauthorized(
        'Send the ops token as "Authorization: Bearer …".',
        sent ? INVALID_TOKEN_CHALLENGE : BEARER_CHALLENGE,
      );
    }
    return true;
  }
}

export function isOpsRequest(header: string | string[] | undefined, opsToken: string): boolean {
  const token = bearerToken(header);
  return token !== null && constantTimeEquals(token, opsToken);
}
