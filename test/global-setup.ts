import { randomBytes } from 'node:crypto';
import { createDatabaseIfMissing, runMigrations } from '../src/database/prepare-database';

/** A fresh database per run, migrated once; the development database is never touched. */
export default async function globalSetup(): Promise<void> {
  process.env.TZ = 'UTC';
  const suffix = randomBytes(4).toString('hex');
  const base = process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const url = new URL(base);
  url.pathname = `/payouts_test_${suffix}`;
  process.env.NODE_ENV = 'test';
  process.env.DATABASE_URL = url.toString();
  process.env.QUEUE_PREFIX = `payouts-test-${suffix}`;
  process.env.LOG_LEVEL = process.env.LOG_LEVEL ?? 'silent';
  await createDatabaseIfMissing(process.env.DATABASE_URL);
  await runMigrations(process.env.DATABASE_URL);
}
