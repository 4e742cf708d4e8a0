import 'reflect-metadata';
import { createApp } from './create-app';
import { loadConfig } from './config/app-config';
import { InvalidEnvironmentError } from './config/environment';
import { createDatabaseIfMissing, runMigrations } from './database/prepare-database';

async function main(): Promise<void> {
  const config = loadConfig();
  if (config.nodeEnv !== 'production') {
    // Developers start with `npm start` alone; production runs migrations as their own step.
    await createDatabaseIfMissing(config.databaseUrl);
    await runMigrations(config.databaseUrl);
  }
  const app = await createApp(config);
  await app.listen({ port: config.port, host: '0.0.0.0' });
  // Graceful stop: workers finish or release the jobs they hold, then the process exits cleanly.
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      app.close().then(
        () => process.exit(0),
        (error: unknown) => {
          process.stderr.write(`Shutdown failed: ${String(error)}\n`);
          process.exit(1);
        },
      );
    });
  }
}

main().catch((error: unknown) => {
  const message = error instanceof InvalidEnvironmentError ? error.message : `Start failed: ${String(error)}`;
  process.stderr.write(`${message}\n`);
  if (!(error instanceof InvalidEnvironmentError) && error instanceof Error)
    process.stderr.write(`${error.stack}\n`);
  process.exit(1);
});
