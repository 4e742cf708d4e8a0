import { DataSourceOptions } from 'typeorm';
import { MIGRATIONS } from './migrations';
import { PreparingClient } from './prepared-client';

/** One definition of the data source, shared by the app, the migration CLI and the test setup. */
export function dataSourceOptions(databaseUrl: string): DataSourceOptions {
  return {
    type: 'postgres',
    url: databaseUrl,
    synchronize: false,
    migrationsRun: false,
    migrations: MIGRATIONS,
    migrationsTableName: 'typeorm_migrations',
    migrationsTransactionMode: 'each',
    entities: [],
    // pg parses timestamps, and the app reads dates back as `date::text`, in ISO style only: pinned per session,
    // whatever DateStyle the server or database defaults to.
    extra: { max: 20, Client: PreparingClient, options: '-c DateStyle=ISO,YMD' },
  };
}
