import { DataSource } from 'typeorm';
import { loadConfig } from '../config/app-config';
import { dataSourceOptions } from './data-source-options';

/** Entry point for the TypeORM CLI (`npm run db:migrate`). */
export default new DataSource(dataSourceOptions(loadConfig().databaseUrl));
