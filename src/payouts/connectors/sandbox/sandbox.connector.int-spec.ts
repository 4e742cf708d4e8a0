import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { StoppedClock } from '../../../../test/support/movable-clock';
import { OwnDatabase } from '../../../../test/support/own-database';
import { ProblemException } from '../../../common/problem';
import { loadConfig } from '../../../config/app-config';
import { dataSourceOptions } from '../../../database/data-source-options';
import { MoneyDecimal } from '../../../money/money';
import { SendRequest, SendResult } from '../provider-connector';
import { chooseOutcome, drawUniform } from './sandbox-behaviour';
import { IdempotencyKeyReusedError, SandboxConnector, SandboxConnectorFactory } from './sandbox.connector';
import { SandboxDelay } from './sandbox-delay';
import { SandboxSettingsService } from './sandbox-settings.service';
import { SandboxTransfersService } from './sandbox-transfers.service';
import { SANDBOX_PROVIDER_IDS } from './sandbox-providers';

class RecordingDelay extends SandboxDelay {
  readonly waited: number[] = [];
  override async wait(ms: number): Promise<void> {
    this.waited.push(ms);
  }
}

const SEED = 'connector-int-seed';
const PROVIDER = 'payoneer';
let counter = 0;
const key = (label: string) => `${label}-${process.pid}-${Date.now().toString(36)}-${(counter += 1)}`;

function sendRequest(idempotencyKey: string, overrides: Partial<SendRequest> = {}): SendRequest {
  return {
    idempotencyKey,
    payoutId: randomUUID(),
    attemptId: randomUUID(),
    routeId: 'upwork-payoneer-usd',
    amount: new MoneyDecimal('1250.00'),
    currency: 'USD',
    beneficiary: {
      name: 'Ayesha Khan',
      iban: 'PK36SCBL0000001123456702',
      institution: 'Meezan Bank',
      accountKind: 'bank_fcy',
    },
    ...overrides,
  };
}

// A database of its own: the tests clear the sandbox's settings, which every provider of the database shares.
const own = new OwnDatabase('sandbox');
beforeAll(() => own.create());
afterAll(() => own.drop());

describe(SandboxConnector.name, () => {
  let db: DataSource;
  let clock: StoppedClock;
  let delay: RecordingDelay;
  let settings: SandboxSettingsService;
  let transfers: SandboxTransfersService;
  let sut: SandboxConnector;

  const base = loadConfig();
  const config = { ...base, sandbox: { seed: SEED, settleAfterMs: 2000 } };
  const connector = (seed = SEED, provider = PROVIDER) =>
    new SandboxConnectorFactory(settings, transfers, delay, clock, {
      ...config,
      sandbox: { ...config.sandbox, seed },
    }).create(provider);
  const rows = async (payoutId: string) =>
    db.query(`SELECT * FROM sandbox_transfers WHERE payout_id = $1`, [payoutId]) as Promise<
      Array<{ state: string; settled_at: Date | null; returned_at: Date | null }>
    >;

  beforeAll(async () => {
    db = new DataSource(dataSourceOptions(own.url));
    await db.initialize();
  });

  afterAll(() => db.destroy());

  beforeEach(async () => {
    await db.query(`DELETE FROM sandbox_provider_settings`);
    clock = new StoppedClock();
    delay = new RecordingDelay();
    settings = new SandboxSettingsService(db, config);
    transfers = new SandboxTransfersService(db);
    sut = connector();
  });

  describe('idempotency', () => {
    it('makes one transfer for a repeated send, and moves the money once', async () => {
      const request = sendRequest(key('repeat'));
      const first = await sut.send(request);
      const second = await sut.send(request);
      expect(first).toEqual({ kind: 'accepted', transferId: expect.any(String) });
      expect(second).toEqual(first);
      expect(await rows(request.payoutId)).toHaveLength(1);
      const moved = await transfers.movedTotals(clock.now(), { payoutId: request.payoutId });
      expect(moved.transfers).toBe(1);
      expect(moved.accepted.toFixed(2)).toBe('1250.00');
      expect(moved.processing.toFixed(2)).toBe('1250.00');
    });

    it('makes one transfer when the same key is sent many times at once', async () => {
      const request = sendRequest(key('race'));
      const results = await Promise.all(Array.from({ length: 8 }, () => sut.send(request)));
      const ids = new Set(results.map((r) => (r.kind === 'accepted' ? r.transferId : r.kind)));
      expect(ids.size).toBe(1);
      expect(results[0].kind).toBe('accepted');
      expect(await rows(request.payoutId)).toHaveLength(1);
    });

    it('answers an accepted key with its transfer even while the provider now refuses everything', async () => {
      const request = sendRequest(key('replay'));
      const first = await sut.send(request);
      await settings.update(PROVIDER, { permanentFailureRate: 1 });
      expect(await sut.send(request)).toEqual(first);
    });

    it('refuses to reuse a key for another transfer instead of reporting the first one', async () => {
      const request = sendRequest(key('reuse'));
      await sut.send(request);
      await expect(sut.send({ ...request, amount: new MoneyDecimal('1.00') })).rejects.toThrow(
        IdempotencyKeyReusedError,
      );
      await expect(sut.send({ ...request, payoutId: randomUUID() })).rejects.toThrow(
        IdempotencyKeyReusedError,
      );
    });

    it('keeps each provider’s keys apart', async () => {
      const request = sendRequest(key('two-providers'));
      const a = await sut.send(request);
      const b = await connector(SEED, 'zindigi').send(request);
      expect(a.kind === 'accepted' && b.kind === 'accepted' && a.transferId !== b.transferId).toBe(true);
      expect(await connector(SEED, 'wise').getStatus(request.idempotencyKey)).toEqual({ state: 'not_found' });
    });
  });

  describe('failures', () => {
    it('rejects for good when permanentFailureRate is 1, creating nothing', async () => {
      await settings.update(PROVIDER, { permanentFailureRate: 1 });
      const request = sendRequest(key('permanent'));
      expect(await sut.send(request)).toEqual({
        kind: 'permanent',
        fault: 'provider',
        error: expect.stringContaining(PROVIDER),
      });
      expect(await sut.getStatus(request.idempotencyKey)).toEqual({ state: 'not_found' });
      expect(await rows(request.payoutId)).toHaveLength(0);
    });

    it("refuses a closed account (an account number that begins with CLOSED) as the payout's fault, creating nothing", async () => {
      const closed = sendRequest(key('closed'), {
        beneficiary: { ...sendRequest('x').beneficiary, iban: 'PK16SCBLCLOSED0000000001' },
      });
      expect(await sut.send(closed)).toEqual({
        kind: 'permanent',
        fault: 'payout',
        error: `${PROVIDER} sandbox rejected the transfer: the beneficiary account is closed`,
      });
      expect(await sut.getStatus(closed.idempotencyKey)).toEqual({ state: 'not_found' });
      expect(await rows(closed.payoutId)).toHaveLength(0);
      // All zeros is an ordinary account, and so is one that only nearly says CLOSED.
      const open = sendRequest(key('open'), {
        beneficiary: { ...sendRequest('x').beneficiary, iban: 'PK46SCBL0000000000000000' },
      });
      expect((await sut.send(open)).kind).toBe('accepted');
      const nearly = sendRequest(key('nearly'), {
        beneficiary: { ...sendRequest('x').beneficiary, iban: 'PK06SCBLCLOSE00000000001' },
      });
      expect((await sut.send(nearly)).kind).toBe('accepted');
    });

    it('fails transiently when transientFailureRate is 1, and the same key goes through once it recovers', async () => {
      await settings.update(PROVIDER, { transientFailureRate: 1 });
      const request = sendRequest(key('transient'));
      expect(await sut.send(request)).toEqual({ kind: 'transient', error: expect.any(String) });
      expect(await sut.send(request)).toEqual({ kind: 'transient', error: expect.any(String) });
      expect(await rows(request.payoutId)).toHaveLength(0);
      await settings.update(PROVIDER, { transientFailureRate: 0 });
      expect((await sut.send(request)).kind).toBe('accepted');
      expect(await rows(request.payoutId)).toHaveLength(1);
    });

    it('refuses what a real provider would refuse, creating nothing', async () => {
      const cases: Array<Partial<SendRequest>> = [
        { amount: new MoneyDecimal('0') },
        { amount: new MoneyDecimal('-5.00') },
        { amount: new MoneyDecimal('10.005') },
        { currency: 'EUR' as 'USD' },
      ];
      for (const overrides of cases) {
        const request = sendRequest(key('invalid'), overrides);
        expect((await sut.send(request)).kind).toBe('permanent');
        expect(await rows(request.payoutId)).toHaveLength(0);
      }
      expect((await sut.send(sendRequest(''))).kind).toBe('permanent');
    });

    it('replays the same outcomes under the same seed, and others under another seed', async () => {
      await settings.update(PROVIDER, {
        permanentFailureRate: 0.2,
        transientFailureRate: 0.2,
        timeoutRate: 0.3,
      });
      const prefix = key('seeded');
      const keys = Array.from({ length: 40 }, (_, i) => `${prefix}-${i}`);
      const run = async (seed: string) => {
        await db.query(`DELETE FROM sandbox_transfers WHERE idempotency_key LIKE $1`, [`${prefix}-%`]);
        await db.query(`DELETE FROM sandbox_send_calls WHERE idempotency_key LIKE $1`, [`${prefix}-%`]);
        const c = connector(seed);
        const outcomes: string[] = [];
        for (const k of keys) {
          // Two sends per key: the second shows the per-call draw (a retry after a transient may succeed).
          const request = sendRequest(k);
          for (let call = 0; call < 2; call += 1) outcomes.push((await c.send(request)).kind);
          outcomes.push((await c.getStatus(k)).state);
        }
        return outcomes;
      };
      const first = await run(SEED);
      expect(await run(SEED)).toEqual(first);
      expect(await run('another-seed')).not.toEqual(first);
      for (const kind of ['permanent', 'transient', 'unknown', 'accepted', 'not_found', 'processing']) {
        expect(first).toContain(kind);
      }
    });
  });

  describe('timeouts', () => {
    /** A fresh key whose first send, under SEED, times out with (or without) the transfer being created. */
    function timeoutKey(created: boolean): string {
      for (;;) {
        const k = key('timeout');
        const u = drawUniform(SEED, ['timeout-created', PROVIDER, k, 1]);
        if (u < 0.5 === created) return k;
      }
    }

    it('may create the transfer and lose the answer: getStatus finds it, a resend returns it', async () => {
      await settings.update(PROVIDER, { timeoutRate: 1 });
      const request = sendRequest(timeoutKey(true));
      expect(await sut.send(request)).toEqual({ kind: 'unknown', error: expect.stringContaining('timeout') });
      const status = await sut.getStatus(request.idempotencyKey);
      expect(status).toEqual({ state: 'processing', transferId: expect.any(String) });
      const resent = await sut.send(request);
      expect(resent).toEqual({
        kind: 'accepted',
        transferId: status.state === 'processing' ? status.transferId : '',
      });
      expect(await rows(request.payoutId)).toHaveLength(1);
    });

    it('may create nothing: getStatus says not_found and the same key can be sent again', async () => {
      await settings.update(PROVIDER, { timeoutRate: 1 });
      const request = sendRequest(timeoutKey(false));
      expect((await sut.send(request)).kind).toBe('unknown');
      expect(await sut.getStatus(request.idempotencyKey)).toEqual({ state: 'not_found' });
      await settings.update(PROVIDER, { timeoutRate: 0 });
      expect((await sut.send(request)).kind).toBe('accepted');
      expect(await rows(request.payoutId)).toHaveLength(1);
    });

    it('matches the pure draw: the outcome of a key is known from the seed alone', async () => {
      await settings.update(PROVIDER, { timeoutRate: 0.5 });
      const s = await settings.get(PROVIDER);
      for (let i = 0; i < 10; i += 1) {
        const request = sendRequest(key('predict'));
        const expected = chooseOutcome(
          s,
          drawUniform(SEED, ['outcome', PROVIDER, request.idempotencyKey, 1]),
        );
        const result: SendResult = await sut.send(request);
        expect(result.kind).toBe(expected === 'timeout' ? 'unknown' : 'accepted');
      }
    });
  });

  describe('statement', () => {
    it('pages through the transfers one provider accepted in the window, oldest first, none twice', async () => {
      // Far from the other tests' transfers, which all stand at the clock's start.
      clock.advance(40 * 86_400_000);
      const provider = connector(SEED, 'sadapay');
      const from = clock.now();
      const keys: string[] = [];
      for (const gapMs of [0, 1000, 0, 0, 1000]) {
        clock.advance(gapMs);
        const request = sendRequest(key('statement'), { routeId: 'sadapay-usd-wallet' });
        expect((await provider.send(request)).kind).toBe('accepted');
        keys.push(request.idempotencyKey);
      }
      await connector(SEED, 'wise').send(sendRequest(key('other-provider')));
      clock.advance(1000);
      const to = clock.now();
      await provider.send(sendRequest(key('after-window')));
      clock.advance(5000);

      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page = await provider.statement({ from, to }, cursor, 2);
        for (const line of page.lines) {
          expect(line).toEqual({
            transferId: expect.any(String),
            idempotencyKey: line.idempotencyKey,
            amount: new MoneyDecimal('1250.00'),
            currency: 'USD',
            state: 'settled',
            acceptedAt: expect.any(Date),
          });
          seen.push(line.idempotencyKey);
        }
        cursor = page.next;
        pages += 1;
      } while (cursor !== null);

      // Three transfers share one acceptance time: their order is by id, so compare as sets within it.
      expect(seen).toHaveLength(5);
      expect(new Set(seen)).toEqual(new Set(keys));
      expect(seen[0]).toBe(keys[0]);
      expect(seen[4]).toBe(keys[4]);
      expect(pages).toBe(3);
    });

    it('shows each transfer in the state it has at the provider now', async () => {
      clock.advance(50 * 86_400_000);
      const provider = connector(SEED, 'sadapay');
      const from = clock.now();
      await settings.update('sadapay', { settleAfterMs: 60_000 });
      await provider.send(sendRequest(key('slow'), { amount: new MoneyDecimal('7.50') }));
      const window = { from, to: new Date(from.getTime() + 1) };
      const before = await provider.statement(window, null, 10);
      expect(before.lines.map((l) => l.state)).toEqual(['processing']);
      expect(before.next).toBeNull();
      clock.advance(60_000);
      const after = await provider.statement(window, null, 10);
      expect(after.lines.map((l) => [l.state, l.amount.toFixed(2)])).toEqual([['settled', '7.50']]);
    });
  });

  describe('settlement and returns', () => {
    it('settles settleAfterMs after acceptance and records it', async () => {
      const request = sendRequest(key('settle'));
      const accepted = await sut.send(request);
      const transferId = accepted.kind === 'accepted' ? accepted.transferId : '';
      const acceptedAt = clock.now().getTime();
      clock.advance(1999);
      expect(await sut.getStatus(request.idempotencyKey)).toEqual({ state: 'processing', transferId });
      clock.advance(1);
      expect(await sut.getStatus(request.idempotencyKey)).toEqual({
        state: 'settled',
        transferId,
        settledAt: new Date(acceptedAt + 2000),
      });
      const [row] = await rows(request.payoutId);
      expect(row.state).toBe('settled');
      expect(row.settled_at).toEqual(new Date(acceptedAt + 2000));
      const moved = await transfers.movedTotals(clock.now(), { payoutId: request.payoutId });
      expect(moved.settled.toFixed(2)).toBe('1250.00');
      expect(moved.processing.toFixed(2)).toBe('0.00');
    });

    it('returns a settled transfer later when returnRate is 1, and never goes back', async () => {
      await settings.update(PROVIDER, { returnRate: 1, settleAfterMs: 60_000 });
      const request = sendRequest(key('return'));
      const accepted = await sut.send(request);
      const transferId = accepted.kind === 'accepted' ? accepted.transferId : '';
      const start = clock.now().getTime();
      clock.advance(60_000);
      expect((await sut.getStatus(request.idempotencyKey)).state).toBe('settled');
      clock.advance(60_000);
      const returned = await sut.getStatus(request.idempotencyKey);
      expect(returned).toEqual({
        state: 'returned',
        transferId,
        settledAt: new Date(start + 60_000),
        returnedAt: new Date(start + 120_000),
        reason: expect.any(String),
      });
      const [row] = await rows(request.payoutId);
      expect(row.state).toBe('returned');
      const moved = await transfers.movedTotals(clock.now(), { payoutId: request.payoutId });
      expect(moved.returned.toFixed(2)).toBe('1250.00');
      expect(moved.settled.toFixed(2)).toBe('0.00');
      clock.advance(-1_000_000);
      expect(await sut.getStatus(request.idempotencyKey)).toEqual(returned);
    });

    it('counts moved money from the times alone, before anyone has read the transfers', async () => {
      const payoutId = randomUUID();
      await sut.send(sendRequest(key('count'), { payoutId, amount: new MoneyDecimal('10.10') }));
      await sut.send(sendRequest(key('count'), { payoutId, amount: new MoneyDecimal('0.20') }));
      const later = new Date(clock.now().getTime() + 2000);
      const moved = await transfers.movedTotals(later, { payoutId });
      expect(moved).toEqual(expect.objectContaining({ transfers: 2 }));
      expect(moved.settled.toFixed(2)).toBe('10.30');
    });

    it('settles at once when ops set settleAfterMs to 0', async () => {
      await settings.update(PROVIDER, { settleAfterMs: 0 });
      const request = sendRequest(key('instant'));
      await sut.send(request);
      expect((await sut.getStatus(request.idempotencyKey)).state).toBe('settled');
    });

    it('waits the provider’s latency on every send', async () => {
      await settings.update(PROVIDER, { latencyMs: 250 });
      await sut.send(sendRequest(key('latency')));
      expect(delay.waited).toEqual([250]);
    });
  });
});

describe(SandboxSettingsService.name, () => {
  let db: DataSource;
  let sut: SandboxSettingsService;

  beforeAll(async () => {
    db = new DataSource(dataSourceOptions(own.url));
    await db.initialize();
    const base = loadConfig();
    sut = new SandboxSettingsService(db, { ...base, sandbox: { ...base.sandbox, settleAfterMs: 1500 } });
  });

  afterAll(() => db.destroy());

  it('answers the defaults for every catalog provider before ops change anything', async () => {
    await db.query(`DELETE FROM sandbox_provider_settings`);
    const all = await sut.list();
    expect(all.map((s) => s.providerId)).toEqual([...SANDBOX_PROVIDER_IDS]);
    for (const s of all) {
      expect(s).toEqual({
        providerId: s.providerId,
        latencyMs: 0,
        settleAfterMs: 1500,
        transientFailureRate: 0,
        permanentFailureRate: 0,
        timeoutRate: 0,
        returnRate: 0,
        updatedAt: null,
      });
    }
  });

  it('changes only the given settings, keeps exact rates, and resets', async () => {
    await sut.update('wise', { timeoutRate: 0.125, latencyMs: 40 });
    const changed = await sut.update('wise', { returnRate: 0.3 });
    expect(changed).toEqual(
      expect.objectContaining({ latencyMs: 40, settleAfterMs: 1500, timeoutRate: 0.125, returnRate: 0.3 }),
    );
    expect(changed.updatedAt).toBeInstanceOf(Date);
    expect(await sut.get('wise')).toEqual(changed);
    expect((await sut.reset('wise')).updatedAt).toBeNull();
    expect((await sut.get('wise')).timeoutRate).toBe(0);
  });

  it('does not know providers outside the catalog', async () => {
    await expect(sut.update('paypal', { latencyMs: 1 })).rejects.toThrow(ProblemException);
    await expect(sut.reset('paypal')).rejects.toThrow(ProblemException);
  });
});

describe('sandbox configuration', () => {
  it('settles 1 s after acceptance by default (seen settled within 2 s, polling included) and draws from a random seed unless one is set', () => {
    const a = loadConfig({});
    const b = loadConfig({});
    expect(a.sandbox.settleAfterMs).toBe(1000);
    expect(a.sandbox.seed).not.toBe(b.sandbox.seed);
    expect(loadConfig({ SANDBOX_SEED: 'fixed', SANDBOX_SETTLE_AFTER_MS: '50' }).sandbox).toEqual({
      seed: 'fixed',
      settleAfterMs: 50,
    });
    expect(() => loadConfig({ SANDBOX_SETTLE_AFTER_MS: '600001' })).toThrow(/SANDBOX_SETTLE_AFTER_MS/);
  });
});

describe(SandboxDelay.name, () => {
  it('waits, and cuts every wait short when the app shuts down', async () => {
    const sut = new SandboxDelay();
    await sut.wait(20);
    let ended = false;
    const long = sut.wait(600_000).then(() => {
      ended = true;
    });
    // Timers due now have run: a wait that did not wait would have ended by then.
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(ended).toBe(false);
    sut.onModuleDestroy();
    await long;
    await sut.wait(600_000);
  });
});
