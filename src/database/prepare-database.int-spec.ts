import { randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { loadConfig } from '../config/app-config';
import { dataSourceOptions } from './data-source-options';
import { createDatabaseIfMissing, dropDatabase, runMigrations } from './prepare-database';

/** A database URL of its own for one test, beside the run's. */
function scratchUrl(label: string): string {
  const url = new URL(loadConfig().databaseUrl);
  url.pathname = `/payouts_test_${label}_${randomBytes(4).toString('hex')}`;
  return url.toString();
}

/**
 * Outside production every process creates and migrates its database at start (main.ts): the api and the worker
 * started together on a new database, or two replicas after a pull that brought a migration, must take turns.
 */
describe('preparing the database from two processes at once', () => {
  const url = scratchUrl('race');

  afterAll(async () => {
    await dropDatabase(url);
  });

  it('creates the database once and migrates it once, and both starts succeed', async () => {
    const created = await Promise.allSettled([createDatabaseIfMissing(url), createDatabaseIfMissing(url)]);
    expect(created.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled']);
    const migrated = await Promise.allSettled([runMigrations(url), runMigrations(url), runMigrations(url)]);
    expect(migrated.map((r) => (r.status === 'rejected' ? String(r.reason) : 'ok'))).toEqual([
      'ok',
      'ok',
      'ok',
    ]);
    const ran = migrated.flatMap((r) => (r.status === 'fulfilled' ? r.value : []));
    // Every migration ran exactly once, whichever process ran it.
    expect(new Set(ran).size).toBe(ran.length);
  });
});

/**
 * `npm run db:revert` runs TypeORM's migration:revert, which wraps `down` in a transaction whatever the migration's
 * `transaction = false` says: a `down` must work inside one.
 */
describe('reverting the latest migrations as `npm run db:revert` does', () => {
  const url = scratchUrl('revert');
  let source: DataSource;

  beforeAll(async () => {
    await createDatabaseIfMissing(url);
    await runMigrations(url);
    source = await new DataSource(dataSourceOptions(url)).initialize();
  });

  afterAll(async () => {
    await source?.destroy();
    await dropDatabase(url);
  });

  it('reverts the last three migrations one by one, then runs them again', async () => {
    for (let i = 0; i < 3; i += 1) {
      // What MigrationRevertCommand does with the data source's migrationsTransactionMode ('each').
      await source.undoLastMigration({ transaction: 'each' });
    }
    const [{ n }] = await source.query(`SELECT count(*)::int AS n FROM typeorm_migrations`);
    expect(n).toBe(source.migrations.length - 3);
    const again = await source.runMigrations({ transaction: 'each' });
    expect(again).toHaveLength(3);
  });
});
