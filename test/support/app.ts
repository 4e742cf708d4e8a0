import { NestFastifyApplication } from '@nestjs/platform-fastify';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { AppConfig, loadConfig } from '../../src/config/app-config';
import { createApp } from '../../src/create-app';
import { Clock } from '../../src/common/clock';

export const OPS_TOKEN = 'test-ops-token-0123456789';

export interface TestApp {
  app: NestFastifyApplication;
  http: ReturnType<typeof request>;
  db: DataSource;
  config: AppConfig;
  close: () => Promise<void>;
}

/** The whole app on the run's database and Redis prefix, optionally with overridden settings. */
export async function startApp(
  env: Record<string, string> = {},
  options: { clock?: Clock; role?: 'api' | 'worker' | 'all' } = {},
): Promise<TestApp> {
  const config = loadConfig({ ...process.env, OPS_TOKEN, ROLE: options.role ?? 'api', ...env });
  const app = await createApp(config, { clock: options.clock });
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  return {
    app,
    http: request(app.getHttpServer()),
    db: app.get(DataSource),
    config,
    close: () => app.close(),
  };
}

export const ops = { Authorization: `Bearer ${OPS_TOKEN}` };
export const bearer = (key: string) => ({ Authorization: `Bearer ${key}` });

let counter = 0;
/** A unique suffix for refs and names within the run. */
export function unique(prefix: string): string {
  counter += 1;
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${counter}`;
}

export async function createPartner(
  http: TestApp['http'],
  name = unique('partner'),
): Promise<{ id: string; apiKey: string; apiKeyId: string }> {
  const res = await http.post('/v1/ops/partners').set(ops).send({ name }).expect(201);
  return res.body;
}

/** A valid Pakistani IBAN with the given 16-character account part (check digits computed). */
export function pakistaniIban(account: string, bank = 'SCBL'): string {
  const bban = `${bank}${account.padStart(16, '0')}`;
  const numeric = `${bban}PK00`.replace(/[A-Z]/g, (c) => String(c.charCodeAt(0) - 55));
  let remainder = 0;
  for (const digit of numeric) remainder = (remainder * 10 + Number(digit)) % 97;
  return `PK${String(98 - remainder).padStart(2, '0')}${bban}`;
}

export async function createFreelancer(
  http: TestApp['http'],
  apiKey: string,
  overrides: Record<string, unknown> = {},
  account: Record<string, unknown> | null = {},
): Promise<{ id: string; externalRef: string }> {
  const res = await http
    .post('/v1/freelancers')
    .set(bearer(apiKey))
    .send({ externalRef: unique('fl'), name: 'Ayesha Khan', cnic: '35202-1234567-1', ...overrides })
    .expect(201);
  if (account) await addAccount(http, apiKey, res.body.id, account);
  return res.body;
}

/** Adds a dollar account to the freelancer (a Meezan Bank FCY account unless `fields` say otherwise). */
export async function addAccount(
  http: TestApp['http'],
  apiKey: string,
  freelancerId: string,
  fields: Record<string, unknown> = {},
): Promise<{ id: string; iban: string; isDefault: boolean }> {
  const res = await http
    .post(`/v1/freelancers/${freelancerId}/accounts`)
    .set(bearer(apiKey))
    .send({
      kind: 'bank_fcy',
      institution: 'Meezan Bank',
      iban: 'PK36SCBL0000001123456702',
      title: 'Ayesha Khan',
      ...fields,
    })
    .expect(201);
  return res.body;
}

/** Waits for a condition with a hard timeout: no fixed sleeps in tests. */
export async function waitFor<T>(
  probe: () => Promise<T | null | undefined | false>,
  { timeoutMs = 20_000, intervalMs = 50, what = 'condition' } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline)
      throw new Error(`Timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
