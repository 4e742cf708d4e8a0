import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { isIPv6 } from 'node:net';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { ipv6Groups } from '../common/ipv6';
import { RateLimiter } from '../common/rate-limiter';

/**
 * Endpoints anyone may call (an invoice's QR code leads a bank to one): a rate limit per client, so nobody can
 * turn them into free load on Postgres. The client is its address as TRUST_PROXY lets the api see it, and an
 * IPv6 client is its /64, the block one subscriber holds.
 */
@Injectable()
export class PublicRateLimitGuard implements CanActivate {
  constructor(
    private readonly limiter: RateLimiter,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    await this.limiter.consume('public-client', clientKey(request.ip), this.config.publicRateLimitPerSecond);
    return true;
  }
}

/** Where no address is known (the socket closed before the guard ran), every such request shares one bucket. */
export const UNKNOWN_CLIENT = 'unknown';

/** An IPv4 address as it is; an IPv6 address as its first four groups (its /64); no address as `unknown`. */
export function clientKey(address: string | undefined): string {
  if (!address) return UNKNOWN_CLIENT;
  const plain = address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
  const groups = isIPv6(plain) ? ipv6Groups(plain) : null;
  if (!groups) return plain;
  return `${groups
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(':')}::/64`;
}
