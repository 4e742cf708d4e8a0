import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { BEARER_CHALLENGE, INVALID_TOKEN_CHALLENGE, Problems } from '../common/problem';
import { MetricsService } from '../ops/metrics.service';
import { bearerToken, constantTimeEquals } from './api-key';

/** Ops endpoints: `Authorization: Bearer $OPS_TOKEN` (or OPS_TOKEN_PREVIOUS), compared in constant time. */
@Injectable()
export class OpsGuard implements CanActivate {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly metrics: MetricsService,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    if (!isOpsRequest(request.headers.authorization, this.config, this.metrics)) {
      const sent = bearerToken(request.headers.authorization) !== null;
      throw Problems.unauthorized(
        'Send the ops token as "Authorization: Bearer …".',
        sent ? INVALID_TOKEN_CHALLENGE : BEARER_CHALLENGE,
      );
    }
    return true;
  }
}

/**
 * Whether the request's bearer token is OPS_TOKEN or OPS_TOKEN_PREVIOUS, each compared in constant time. A request
 * with the previous one is counted, so ops can see when no client uses it any more and drop it.
 */
export function isOpsRequest(
  header: string | string[] | undefined,
  config: Pick<AppConfig, 'opsToken' | 'opsTokenPrevious'>,
  metrics: MetricsService,
): boolean {
  const token = bearerToken(header);
  if (token === null) return false;
  const current = constantTimeEquals(token, config.opsToken);
  const previous = config.opsTokenPrevious !== null && constantTimeEquals(token, config.opsTokenPrevious);
  if (previous && !current) metrics.opsPreviousTokenRequests.inc();
  return current || previous;
}
