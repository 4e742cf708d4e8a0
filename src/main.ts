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
  // Graceful stop: workers finish or release the jobs they hold, then the process exits cleanly. Closing waits on
  // Redis and Postgres, so one that does not answer would hold it for ever: past the deadline the process exits
  // anyway, and what it still held is recovered as stalled (BullMQ) or stale (the sweepers).
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      setTimeout(() => {
        process.stderr.write(
          `Shutdown did not finish within ${config.shutdownTimeoutMs} ms (SHUTDOWN_TIMEOUT_MS); exiting anyway.\n`,
        );
        process.exit(1);
      }, config.shutdownTimeoutMs).unref();
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
