import { CanActivate, createParamDecorator, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { INVALID_TOKEN_CHALLENGE, Problems } from '../common/problem';
import { RateLimiter, Tally } from '../common/rate-limiter';
import { API_KEY_PATTERN, bearerToken, hashApiKey } from './api-key';
import { RedisEpoch } from '../redis/epoch';
import { ApiKeyCache } from './api-key-cache';
import { AuthenticatedPartner, PartnersService } from './partners.service';

type PartnerRequest = FastifyRequest & { partner?: AuthenticatedPartner };

/** Resolves `Authorization: Bearer pk_…` to a partner and applies the per-key rate limit. */
@Injectable()
export class PartnerGuard implements CanActivate {
  constructor(
    private readonly partners: PartnersService,
    private readonly limiter: RateLimiter,
    private readonly cache: ApiKeyCache,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<PartnerRequest>();
    const token = bearerToken(request.headers.authorization);
    if (!token) throw Problems.unauthorized('Send the partner API key as "Authorization: Bearer pk_…".');
    if (!API_KEY_PATTERN.test(token)) {
      throw Problems.unauthorized('The API key is malformed.', INVALID_TOKEN_CHALLENGE);
    }
    const keyHash = hashApiKey(token).toString('hex');
    const limit = this.config.partnerRateLimitPerSecond;
    const cached = this.cache.lookup(keyHash);
    let counted: Tally = null;
    if (cached) {
      // The count and the revocation epoch in one Redis call: a known, unrevoked key costs nothing more. A key
      // over its limit is refused only once it is known to stand: a revoked one answers 401, not 429.
      counted = await this.limiter.count('partner-key', cached.partner.apiKeyId, limit, {
        alsoRead: ApiKeyCache.EPOCH_KEY,
      });
      if (counted && RedisEpoch.current(counted.read, cached.epoch)) {
        if (!counted.admitted) throw Problems.tooManyRequests(1);
        request.partner = cached.partner;
        return true;
      }
    }
    const epoch = await this.cache.epoch();
    const partner = await this.partners.authenticate(token);
    if (!partner) {
      // A copy this replica still holds of a key revoked since must not outlive this answer.
      this.cache.forget(keyHash);
      throw Problems.unauthorized('The API key is unknown or revoked.', INVALID_TOKEN_CHALLENGE);
    }
    this.cache.remember(keyHash, partner, epoch);
    if (!cached) await this.limiter.consume('partner-key', partner.apiKeyId, limit);
    else if (counted && !counted.admitted) throw Problems.tooManyRequests(1);
    request.partner = partner;
    return true;
  }
}

/** The id of the partner the request's key belongs to; every query is scoped by it. */
export const PartnerId = createParamDecorator((_: unknown, context: ExecutionContext): string => {
  const partner = context.switchToHttp().getRequest<PartnerRequest>().partner;
  if (!partner) throw Problems.unauthorized('No partner credential was resolved.');
  return partner.partnerId;
});
