import { randomBytes } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { SecretKeys } from '../common/secret-box';
import type { AppConfig } from '../config/app-config';
import type { MetricsService } from '../ops/metrics.service';
import { SecretResealer } from './secret-resealer.service';

describe(SecretResealer.name, () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  /** Whether a resealer of the given role and keys runs a pass within its first 10 s. */
  async function passesSoon(role: AppConfig['role'], keys: SecretKeys): Promise<boolean> {
    const resealer = new SecretResealer(
      {} as DataSource,
      {} as MetricsService,
      {
        role,
        secretKeys: keys,
      } as AppConfig,
    );
    const pass = jest.spyOn(resealer, 'pass').mockResolvedValue(null);
    resealer.onApplicationBootstrap();
    await jest.advanceTimersByTimeAsync(10_000);
    await resealer.onApplicationShutdown();
    return pass.mock.calls.length > 0;
  }

  it('reseals in a worker only while earlier keys are given beside SECRETS_KEY (a rotation under way)', async () => {
    const current = randomBytes(32);
    expect(await passesSoon('worker', new SecretKeys(current, [randomBytes(32)]))).toBe(true);
    expect(await passesSoon('all', new SecretKeys(current, [randomBytes(32)]))).toBe(true);
    expect(await passesSoon('worker', new SecretKeys(current))).toBe(false);
    expect(await passesSoon('api', new SecretKeys(current, [randomBytes(32)]))).toBe(false);
  });
});
