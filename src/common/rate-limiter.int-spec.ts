import { HttpException, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { PausableRedisRelay } from '../../test/support/redis-relay';
import { loadConfig } from '../config/app-config';
import { RedisService } from '../redis/redis.module';
import { RateLimiter } from './rate-limiter';

describe(RateLimiter.name, () => {
  let redis: RedisService;
  let limiter: RateLimiter;
  const T0 = 1_796_000_000_500;

  beforeAll(async () => {
    redis = new RedisService(loadConfig());
    // No offline queue: the first command must wait until the connection is up.
    await new Promise<void>((resolve) => {
      if (redis.client.status === 'ready') resolve();
      else redis.client.once('ready', () => resolve());
    });
    limiter = new RateLimiter(redis);
  });

  afterAll(() => redis.onApplicationShutdown());

  /** Which of the requests, at these times, were let in. */
  async function admitted(id: string, limit: number, times: number[]): Promise<boolean[]> {
    const results: boolean[] = [];
    for (const nowMs of times) {
      try {
        await limiter.consume('test', id, limit, { nowMs });
        results.push(true);
      } catch (error) {
        expect(error).toBeInstanceOf(HttpException);
        expect((error as HttpException).getStatus()).toBe(429);
        results.push(false);
      }
    }
    return results;
  }

  it('lets the limit in and refuses the rest of the same second', async () => {
    const times = Array.from({ length: 8 }, (_, i) => T0 + i);
    expect(await admitted(randomUUID(), 5, times)).toEqual([
      true,
      true,
      true,
      true,
      true,
      false,
      false,
      false,
    ]);
  });

  it('slides: a request leaves the window one second after it came in, and only then makes room', async () => {
    const id = randomUUID();
    expect(await admitted(id, 3, [T0, T0 + 100, T0 + 200])).toEqual([true, true, true]);
    expect(await admitted(id, 3, [T0 + 999])).toEqual([false]);
    expect(await admitted(id, 3, [T0 + 1000, T0 + 1001])).toEqual([true, false]);
    expect(await admitted(id, 3, [T0 + 1100, T0 + 1150])).toEqual([true, false]);
  });

  it('holds across the turn of a clock second, where fixed windows would let twice the limit through', async () => {
    const turn = Math.ceil(T0 / 1000) * 1000;
    const times = [turn - 3, turn - 2, turn - 1, turn, turn + 1, turn + 2];
    expect(await admitted(randomUUID(), 3, times)).toEqual([true, true, true, false, false, false]);
  });

  it('does not count refused requests: a caller that keeps knocking still gets the limit through each second', async () => {
    const id = randomUUID();
    const knocks = Array.from({ length: 30 }, (_, i) => T0 + i * 100);
    const results = await admitted(id, 2, knocks);
    // Two in each second: at 0 and 100 ms, then each one second after an admitted one.
    expect(knocks.filter((_, i) => results[i]).map((t) => t - T0)).toEqual([0, 100, 1000, 1100, 2000, 2100]);
  });

  it("counts on Redis's own clock when the caller gives no time", async () => {
    const id = randomUUID();
    const now = async () => {
      try {
        await limiter.consume('test', id, 2);
        return true;
      } catch {
        return false;
      }
    };
    expect([await now(), await now(), await now()]).toEqual([true, true, false]);
    const [, scores] = await redis.client.zrange(`rl:test:${id}`, 0, 0, 'WITHSCORES');
    const [seconds] = await redis.client.time();
    expect(Math.abs(Number(scores) - Number(seconds) * 1000)).toBeLessThan(5000);
  });

  it('keeps callers apart, and reads the extra key on the same call', async () => {
    const key = `rate-limiter-test:${randomUUID()}`;
    await redis.client.set(key, 'epoch-7');
    const [a, b] = [randomUUID(), randomUUID()];
    expect(await admitted(a, 1, [T0, T0 + 1])).toEqual([true, false]);
    expect(await limiter.consume('test', b, 1, { nowMs: T0 + 2, alsoRead: key })).toEqual({
      read: 'epoch-7',
    });
    expect(await limiter.consume('test', randomUUID(), 1, { alsoRead: `${key}:none` })).toEqual({
      read: null,
    });
    await redis.client.del(key);
  });

  it('lets requests through while Redis is gone, and says how many once it answers again', async () => {
    const relay = await PausableRedisRelay.start(loadConfig().redisUrl);
    const cut = new RedisService({ ...loadConfig(), redisUrl: relay.url });
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const ready = () => new Promise<void>((resolve) => cut.client.once('ready', () => resolve()));
    try {
      await ready();
      const cutLimiter = new RateLimiter(cut);
      const id = randomUUID();
      relay.down();
      for (let i = 0; i < 3; i++) expect(await cutLimiter.consume('test', id, 1)).toBeNull();
      expect(warn.mock.calls.map(([message]) => message)).toEqual([
        expect.stringMatching(
          /^Rate limits were not checked for 1 request\(s\) because Redis did not answer/,
        ),
      ]);
      const back = ready();
      relay.up();
      await back;
      // Another caller: a command cut off by the outage may still be replayed into this one's window.
      expect(await cutLimiter.consume('test', randomUUID(), 1)).toEqual({ read: null });
      expect(warn.mock.calls.map(([message]) => message)).toEqual([
        expect.stringMatching(/^Rate limits were not checked for 1 request/),
        'Rate limits are checked again; 2 more request(s) were let through unchecked before Redis answered.',
      ]);
    } finally {
      warn.mockRestore();
      cut.onApplicationShutdown();
      await relay.close();
    }
  });
});
