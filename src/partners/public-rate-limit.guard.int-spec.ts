import { HttpException, type ExecutionContext } from '@nestjs/common';
import { RateLimiter } from '../common/rate-limiter';
import { type AppConfig, loadConfig } from '../config/app-config';
import { RedisService } from '../redis/redis.module';
import { PublicRateLimitGuard } from './public-rate-limit.guard';
import { fillWindow } from '../../test/support/rate-limit';

describe(PublicRateLimitGuard.name, () => {
  let redis: RedisService;

  beforeAll(async () => {
    redis = new RedisService(loadConfig());
    await new Promise<void>((resolve) => {
      if (redis.client.status === 'ready') resolve();
      else redis.client.once('ready', () => resolve());
    });
  });

  afterAll(() => redis.onApplicationShutdown());

  const contextOf = (request: { ip: string | undefined }) =>
    ({ switchToHttp: () => ({ getRequest: () => request }) }) as unknown as ExecutionContext;

  it('counts a request whose socket has closed (no address) under "unknown", instead of failing', async () => {
    const key = 'rl:public-client:unknown';
    const guard = new PublicRateLimitGuard(new RateLimiter(redis), {
      publicRateLimitPerSecond: 1,
    } as AppConfig);
    try {
      // The window of "unknown" is full: one request counted, dated a minute ahead so it stays in it.
      await fillWindow(redis.client, key, 1);
      const refused = await guard.canActivate(contextOf({ ip: undefined })).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(HttpException);
      expect((refused as HttpException).getStatus()).toBe(429);
      await redis.client.del(key);
      await expect(guard.canActivate(contextOf({ ip: undefined }))).resolves.toBe(true);
    } finally {
      await redis.client.del(key);
    }
  });
});
