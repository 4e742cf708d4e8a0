/** A database and a Redis key prefix of a benchmark's own, made fresh for one run and removed after it. */
import Redis from 'ioredis';
import { randomBytes } from 'node:crypto';
import { createDatabaseIfMissing, dropDatabase, runMigrations } from '../../src/database/prepare-database';

export const LOCAL_POSTGRES = 'postgres://postgres@127.0.0.1:5432/payouts';

export interface ScratchNames {
  databaseUrl: string;
  queuePrefix: string;
}

/**
 * Fresh random names: database `payouts_bench_[<label>_]<hex>` on the server of `server` (`DATABASE_URL` when
 * set, so a benchmark can reach Postgres through its Unix socket: `?host=/var/run/postgresql`), and the Redis
 * prefix `payouts-bench-[<label>-]<hex>` with the same suffix.
 */
export function scratchNames(
  label?: string,
  server = process.env.DATABASE_URL ?? LOCAL_POSTGRES,
): ScratchNames {
  const suffix = randomBytes(4).toString('hex');
  const url = new URL(server);
  url.pathname = `/payouts_bench_${label ? `${label}_` : ''}${suffix}`;
  return { databaseUrl: url.toString(), queuePrefix: `payouts-bench-${label ? `${label}-` : ''}${suffix}` };
}

/** Creates the database and runs every migration; drops it again when the migrations fail. */
export async function createMigratedDatabase(databaseUrl: string): Promise<void> {
  await createDatabaseIfMissing(databaseUrl);
  try {
    await runMigrations(databaseUrl);
  } catch (error) {
    await dropDatabase(databaseUrl);
    throw error;
  }
}

export async function deleteRedisKeys(prefix: string): Promise<void> {
  const redis = new Redis('redis://127.0.0.1:6379');
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      if (keys.length) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/** Drops the database and deletes the Redis keys under the prefix. */
export async function removeScratch(names: ScratchNames): Promise<void> {
  await dropDatabase(names.databaseUrl);
  await deleteRedisKeys(names.queuePrefix);
}
