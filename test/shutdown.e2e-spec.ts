import { execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { OPS_TOKEN, waitFor } from './support/app';

const ROOT = join(__dirname, '..');

/**
 * A graceful stop waits for Redis and Postgres to let go of what the process holds. One that never answers must
 * not hold the process for ever: past SHUTDOWN_TIMEOUT_MS it exits anyway, saying so.
 */
describe('shutdown while Redis does not answer (e2e, the built app as a child process)', () => {
  beforeAll(() => {
    execFileSync(process.execPath, [join(ROOT, 'scripts/build-if-needed.js')], {
      cwd: ROOT,
      stdio: 'inherit',
    });
  }, 240_000);

  it('exits within SHUTDOWN_TIMEOUT_MS of SIGTERM, with a line saying why, instead of waiting for ever', async () => {
    const child = spawn(process.execPath, [join(ROOT, 'dist/src/main.js')], {
      cwd: ROOT,
      env: {
        ...process.env,
        // Nothing listens there: the queues never connect, and closing them never finishes.
        REDIS_URL: 'redis://127.0.0.1:1',
        PORT: '0',
        OPS_TOKEN,
        LOG_LEVEL: 'info',
        SHUTDOWN_TIMEOUT_MS: '1500',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    try {
      await waitFor(async () => stdout.includes('Nest application successfully started'), {
        timeoutMs: 60_000,
        what: 'the app to start',
      });
      child.kill('SIGTERM');
      const exit = await waitFor(async () => (child.exitCode === null ? null : { code: child.exitCode }), {
        timeoutMs: 20_000,
        what: 'the app to exit after SIGTERM',
      });
      expect(exit.code).toBe(1);
      expect(stderr).toContain(
        'Shutdown did not finish within 1500 ms (SHUTDOWN_TIMEOUT_MS); exiting anyway.',
      );
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 120_000);
});
