import { randomBytes } from 'node:crypto';
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
