import type Redis from 'ioredis';
import { expectProblem } from './problem';

type Answer = { status: number; headers: Record<string, string>; body: unknown };

/**
 * Puts exactly `count` requests in the rate-limit window kept under `key` (in the client's prefix), dated a minute
 * ahead, so none of them leaves the window while a test runs.
 */
export async function fillWindow(redis: Redis, key: string, count: number): Promise<void> {
  await redis.del(key);
  const at = Date.now() + 60_000;
  await redis.zadd(key, ...Array.from({ length: count }, (_, i) => [at, `earlier-${i}`]).flat());
  await redis.pexpire(key, 60_000);
}

/**
 * Shows that the rate limit kept under `key` (in the client's prefix) is exactly `limit` a second: with `limit - 1`
 * requests in the window one more is let through (answering `passed`), with `limit` it answers 429 with
 * Retry-After. The window is filled in Redis with requests dated a minute ahead, so however long the test takes,
 * none of them leaves the window before the request is counted.
 */
export async function expectExactLimit(
  redis: Redis,
  key: string,
  limit: number,
  send: () => Promise<Answer>,
  passed: number,
): Promise<void> {
  const fill = (count: number) => fillWindow(redis, key, count);
  try {
    await fill(limit - 1);
    expect((await send()).status).toBe(passed);
    await fill(limit);
    const refused = await send();
    expectProblem(refused, 429);
    expect(refused.headers['retry-after']).toBe('1');
  } finally {
    await redis.del(key);
  }
}
