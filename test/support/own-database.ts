import { randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from '../../src/database/data-source-options';
import { loadConfig } from '../../src/config/app-config';
import { createDatabaseIfMissing, dropDatabase, runMigrations } from '../../src/database/prepare-database';

/**
 * A migrated database for one suite alone, beside the run's shared one: for a test that changes what every
 * suite would see (a constraint taken away), or that reads across the whole database (a sweeper).
 */
export class OwnDatabase {
  readonly url: string;

  constructor(label: string) {
    const url = new URL(loadConfig().databaseUrl);
    url.pathname = `/payouts_test_${label}_${randomBytes(4).toString('hex')}`;
    this.url = url.toString();
  }

  async create(): Promise<void> {
    await createDatabaseIfMissing(this.url);
    await runMigrations(this.url);
  }

  drop(): Promise<void> {
    return dropDatabase(this.url);
  }
}

/**
 * For a describe block: a database of its own, created and migrated before its tests and dropped after them, and
 * a connection to it (read it inside a test or hook, once `beforeAll` has run).
 */
export function ownDatabaseForSuite(label: string): { readonly db: DataSource } {
  const own = new OwnDatabase(label);
  const suite: { db: DataSource } = { db: undefined as unknown as DataSource };
  beforeAll(async () => {
    await own.create();
    suite.db = await new DataSource(dataSourceOptions(own.url)).initialize();
  });
  afterAll(async () => {
    await suite.db?.destroy();
    await own.drop();
  });
  return suite;
}
