import { DataSource } from 'typeorm';
import { AppConfig, loadConfig } from '../config/app-config';
import { dataSourceOptions } from '../database/data-source-options';
import { PayoutQueues } from '../queues/payout-queues.service';
import { SettlePayoutJobData } from '../queues/queues';
import { OwnDatabase } from '../../test/support/own-database';
import {
  insertConnection,
  insertFreelancer,
  insertPartner,
  insertPayout,
} from '../../test/support/payout-rows';
import { PayoutSweeper } from './payout-sweeper.service';

/** More stale rows than one pass reads (the sweeper's BATCH), all of which stay stale while they wait. */
const WAITING = 200;

describe(PayoutSweeper.name, () => {
  // A database of its own: the sweeper reads every payout of its database.
  const own = new OwnDatabase('sweeper');
  let config: AppConfig;
  let db: DataSource;
  let partnerId: string;
  let connectionId: string;
  let freelancerId: string;
  /** What the sweeper queued, by kind and payout or attempt id. */
  const queued: { route: string[]; send: string[]; settle: string[]; settleJobs: SettlePayoutJobData[] } = {
    route: [],
    send: [],
    settle: [],
    settleJobs: [],
  };
  const queues = {
    enqueueRoute: async (data: { payoutId: string }) => void queued.route.push(data.payoutId),
    enqueueSend: async (data: { attemptId: string }) => void queued.send.push(data.attemptId),
    enqueueSettle: async (data: SettlePayoutJobData) => {
      queued.settle.push(data.attemptId);
      queued.settleJobs.push(data);
    },
  } as unknown as PayoutQueues;

  beforeAll(async () => {
    config = loadConfig();
    await own.create();
    db = await new DataSource(dataSourceOptions(own.url)).initialize();
    partnerId = await insertPartner(db, 'sweeper');
    connectionId = await insertConnection(db, partnerId);
    freelancerId = await insertFreelancer(db, partnerId);
  });

  beforeEach(async () => {
    queued.route.length = queued.send.length = queued.settle.length = queued.settleJobs.length = 0;
    await db.query(`DELETE FROM payout_attempts`);
    await db.query(`DELETE FROM payout_timeline`);
    await db.query(`DELETE FROM payouts`);
  });

  afterAll(async () => {
    await db.destroy();
    await own.drop();
  });

  /** A payout in `status`, last changed `ageMs` ago. */
  async function payout(status: 'received' | 'sending', ageMs: number): Promise<string> {
    const id = await insertPayout(db, { partnerId, freelancerId, connectionId });
    await db.query(
      `UPDATE payouts SET status = $2, updated_at = now() - make_interval(secs => $3 / 1000.0) WHERE id = $1`,
      [id, status, ageMs],
    );
    return id;
  }

  /** A sending payout's attempt in `status`, last changed `ageMs` ago. */
  async function attempt(status: 'pending' | 'accepted', ageMs: number): Promise<string> {
    const payoutId = await payout('sending', ageMs);
    const [row] = await db.query(
      `INSERT INTO payout_attempts (payout_id, seq, round, route_id, provider, quote, idempotency_key, status,
                                    updated_at)
       VALUES ($1, 1, 1, 'r', 'p', '{}', $4, $2, now() - make_interval(secs => $3 / 1000.0))
       RETURNING id`,
      [payoutId, status, ageMs, `${payoutId}:1`],
    );
    return row.id;
  }

  const sweeper = () => new PayoutSweeper(db, queues, config);

  it('reaches a stale attempt behind a full batch of older ones that stay stale', async () => {
    // Transfers a slow provider has accepted and not yet settled: each poll finds them processing, which changes
    // nothing in Postgres, so they stay the oldest stale attempts pass after pass.
    for (let i = 0; i < WAITING; i += 1) await attempt('accepted', 3_600_000 + i * 1000);
    // Newer, and stale too: its send job was lost with Redis.
    const lost = await attempt('pending', 10 * 60_000);

    const sweep = sweeper();
    for (let pass = 0; pass < 3; pass += 1) await sweep.sweep();

    expect(queued.send).toEqual([lost]);
  });

  it('reaches a stale received payout behind a full batch of older ones that stay received', async () => {
    // Payouts waiting for providers to come back: each routing finds them waiting and leaves them as they are.
    for (let i = 0; i < WAITING; i += 1) await payout('received', 3_600_000 + i * 1000);
    // Newer, and stale too: its route job was lost with Redis.
    const lost = await payout('received', 10 * 60_000);

    const sweep = sweeper();
    for (let pass = 0; pass < 3; pass += 1) await sweep.sweep();

    expect(queued.route).toContain(lost);
  });

  it('reads again, on its next pass, the rest of a batch whose queueing Redis refused', async () => {
    const waiting: string[] = [];
    for (let i = 0; i < WAITING + 1; i += 1) waiting.push(await payout('received', 3_600_000 - i * 1000));
    const sweep = sweeper();
    const enqueue = queues.enqueueRoute;
    let calls = 0;
    queues.enqueueRoute = async (...args: Parameters<PayoutQueues['enqueueRoute']>) => {
      calls += 1;
      if (calls === 2) throw new Error('Redis did not take the job in time');
      return enqueue(...args);
    };
    try {
      await expect(sweep.sweep()).rejects.toThrow(/Redis did not take the job/);
    } finally {
      queues.enqueueRoute = enqueue;
    }
    expect(queued.route).toEqual([waiting[0]]);
    await sweep.sweep();
    // The next pass starts where the refused one did: every payout of that batch is queued now.
    expect(queued.route).toEqual(expect.arrayContaining(waiting.slice(1, WAITING)));
  });

  it('queues a transfer on the slow poll only once its poll is overdue, as that poll', async () => {
    const due = await attempt('accepted', 10 * 60_000);
    const overdue = await attempt('accepted', 10 * 60_000);
    const quick = await attempt('accepted', 10 * 60_000);
    await db.query(`UPDATE payout_attempts SET settle_check_at = now() + interval '1 minute' WHERE id = $1`, [
      due,
    ]);
    const [[{ at }]] = await db.query(
      `UPDATE payout_attempts SET settle_check_at = date_trunc('milliseconds', now() - interval '10 minutes')
       WHERE id = $1 RETURNING settle_check_at AS at`,
      [overdue],
    );
    await sweeper().sweep();
    expect(queued.settle.sort()).toEqual([overdue, quick].sort());
    // The overdue slow poll is queued as the poll the attempt waits for (one ask, then the next slow poll); a
    // transfer whose quick polls were lost gets quick polls again.
    expect(queued.settleJobs.find((job) => job.attemptId === overdue)?.pollDueAtMs).toBe(at.getTime());
    expect(queued.settleJobs.find((job) => job.attemptId === quick)?.pollDueAtMs).toBeUndefined();
  });
});
