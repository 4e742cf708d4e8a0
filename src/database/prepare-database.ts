import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from './data-source-options';

/** Creates the database named in the URL when it does not exist yet (development start and tests). */
export async function createDatabaseIfMissing(databaseUrl: string): Promise<boolean> {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!/^[a-z0-9_]+$/i.test(name)) throw new Error(`Refusing to create a database named "${name}"`);
  url.pathname = '/postgres';
  const client = new Client({ connectionString: url.toString() });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rowCount) return false;
    await client.query(`CREATE DATABASE "${name}"`);
    return true;
  } catch (error) {
    // 42P04: it exists. 23505: another process created it between our look and our CREATE (its row in
    // pg_database went in first), as when the api and the worker start together on a new database.
    const code = (error as { code?: string }).code;
    if (code === '42P04' || code === '23505') return false;
    throw error;
  } finally {
    await client.end();
  }
}

export async function dropDatabase(databaseUrl: string): Promise<void> {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.replace(/^\//, ''));
  url.pathname = '/postgres';
  const client = new Client({ connectionString: url.toString() });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

/** The advisory lock migrations are run under (any constant of our own: "payout-router migrations"). */
const MIGRATIONS_LOCK = 7_361_926_514;
const MIGRATIONS_LOCK_POLL_MS = 200;

/**
 * Applies pending migrations; answers the names of those it ran. Processes that start together (the api and the
 * worker outside production, replicas after a pull) take turns under a session advisory lock held on a connection
 * of its own: the first runs what is pending, the others then find nothing left to run.
 */
export async function runMigrations(databaseUrl: string): Promise<string[]> {
  const lock = new Client({ connectionString: databaseUrl });
  await lock.connect();
  try {
    // Tried, not waited for: a session waiting for the lock holds a snapshot, and a migration that builds an index
    // CONCURRENTLY waits for every snapshot older than its own, so the two would wait for each other for ever.
    for (;;) {
      const [{ taken }] = (
        await lock.query<{ taken: boolean }>('SELECT pg_try_advisory_lock($1) AS taken', [MIGRATIONS_LOCK])
      ).rows;
      if (taken) break;
      await new Promise((resolve) => setTimeout(resolve, MIGRATIONS_LOCK_POLL_MS));
    }
    const source = new DataSource(dataSourceOptions(databaseUrl));
    await source.initialize();
    try {
      const ran = await source.runMigrations({ transaction: 'each' });
      return ran.map((m) => m.name);
    } finally {
      await source.destroy();
    }
  } finally {
    // Ending the session releases the lock, whatever happened.
    await lock.end();
  }
}
