import Redis from 'ioredis';
import { dropDatabase } from '../src/database/prepare-database';

export default async function globalTeardown(): Promise<void> {
  if (process.env.DATABASE_URL?.includes('payouts_test_')) await dropDatabase(process.env.DATABASE_URL);
  const prefix = process.env.QUEUE_PREFIX;
  if (prefix?.startsWith('payouts-test-')) {
    const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
    let cursor = '0';
    do {
      // The run's keys, and those of suites that queue under a prefix of their own (`<run>-outbox-…`).
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}[-:]*`, 'COUNT', 1000);
      if (keys.length) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
    redis.disconnect();
  }
}
