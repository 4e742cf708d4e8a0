import { Queue } from 'bullmq';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { AppConfig, loadConfig } from '../config/app-config';
import { dataSourceOptions } from '../database/data-source-options';
import { PayoutQueues } from '../queues/payout-queues.service';
import { JobIds, QUEUES } from '../queues/queues';
import { OwnDatabase } from '../../test/support/own-database';
import {
  insertConnection,
  insertFreelancer,
  insertPartner,
  insertPayout,
} from '../../test/support/payout-rows';
import { WebhookEventsService } from './webhook-events.service';
import { WebhookOutboxSweeper } from './webhook-outbox.sweeper';
import { waitFor } from '../../test/support/app';

describe(WebhookOutboxSweeper.name, () => {
  // A database of its own: the sweeper reads every event of its database, and counts are exact only when the
  // events are this suite's alone.
  const own = new OwnDatabase('outbox');
  let config: AppConfig;
  let db: DataSource;
  let queues: Queue[];
  let payoutQueues: PayoutQueues;
  let connectionId: string;
  let partnerId: string;
  let freelancerId: string;

  beforeAll(async () => {
    config = loadConfig();
    await own.create();
    db = await new DataSource(dataSourceOptions(own.url)).initialize();
    const url = new URL(config.redisUrl);
    // A prefix of its own: no worker of another test ever sees these jobs.
    const prefix = `${config.queuePrefix}-outbox-${randomUUID().slice(0, 8)}`;
    queues = [QUEUES.routePayout, QUEUES.sendPayout, QUEUES.settlePayout].map(
      (name) =>
        new Queue(name, { prefix, connection: { host: url.hostname, port: Number(url.port || 6379) } }),
    );
    payoutQueues = new PayoutQueues(queues[0], queues[1], queues[2]);
    partnerId = await insertPartner(db, 'outbox');
    connectionId = await insertConnection(db, partnerId);
    freelancerId = await insertFreelancer(db, partnerId);
  });

  afterAll(async () => {
    for (const queue of queues) {
      await queue.obliterate({ force: true });
      await queue.close();
    }
    await db.destroy();
    await own.drop();
  });

  const sweeper = () => new WebhookOutboxSweeper(db, new WebhookEventsService(db), payoutQueues, config);

  async function insertEvent(
    status: 'accepted' | 'rejected' | 'ignored',
    options: { ageMs?: number; enqueued?: boolean } = {},
  ): Promise<{ id: string; payoutId: string | null }> {
    const payoutId =
      status === 'accepted' ? await insertPayout(db, { partnerId, freelancerId, connectionId }) : null;
    const [row] = await db.query(
      `INSERT INTO webhook_events (connection_id, partner_id, event_id, event_type, status, raw_body, errors,
                                   payout_id, enqueued_at, created_at)
       VALUES ($1, $2, $3, 'payout.available', $4, '\\x7b7d', $5, $6,
               CASE WHEN $7::boolean THEN now() END,
               date_trunc('milliseconds', now() - make_interval(secs => $8 / 1000.0)))
       RETURNING id`,
      [
        connectionId,
        partnerId,
        `msg_${randomUUID()}`,
        status,
        status === 'rejected' ? '[{"field":"data.amount","message":"x"}]' : null,
        payoutId,
        options.enqueued ?? false,
        options.ageMs ?? 10_000,
      ],
    );
    return { id: row.id, payoutId };
  }

  const enqueuedAt = async (id: string) =>
    (await db.query(`SELECT enqueued_at FROM webhook_events WHERE id = $1`, [id]))[0].enqueued_at;

  it('queues accepted events Redis never took, with the event’s job id, and marks them', async () => {
    const owed = await insertEvent('accepted');
    const fresh = await insertEvent('accepted', { ageMs: 0 });
    const done = await insertEvent('accepted', { enqueued: true });
    const rejected = await insertEvent('rejected');
    const ignored = await insertEvent('ignored');

    expect(await sweeper().sweep()).toBe(1);

    const job = await queues[0].getJob(JobIds.routeFromEvent(owed.id));
    expect(job?.data).toEqual({ payoutId: owed.payoutId, cause: expect.any(String) });
    expect(await enqueuedAt(owed.id)).not.toBeNull();
    expect(await enqueuedAt(fresh.id)).toBeNull();
    for (const untouched of [fresh, done, rejected, ignored]) {
      expect(await queues[0].getJob(JobIds.routeFromEvent(untouched.id))).toBeUndefined();
    }
    // Intake's own hand-off, which the young event is waiting for: no later test finds it owed.
    await db.query(`UPDATE webhook_events SET enqueued_at = now() WHERE id = $1`, [fresh.id]);
  });

  it('queues nothing twice: a second pass finds nothing owed', async () => {
    await insertEvent('accepted');
    await sweeper().sweep();
    expect(await sweeper().sweep()).toBe(0);
  });

  it('shares the work between sweepers running at once (SKIP LOCKED)', async () => {
    const owed = await Promise.all(Array.from({ length: 30 }, () => insertEvent('accepted')));
    const counts = await Promise.all([sweeper().sweep(), sweeper().sweep(), sweeper().sweep()]);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(30);
    for (const event of owed) {
      expect(await enqueuedAt(event.id)).not.toBeNull();
      expect(await queues[0].getJob(JobIds.routeFromEvent(event.id))).toBeDefined();
    }
  });

  it('passes over an event another sweeper holds, instead of waiting for it (SKIP LOCKED)', async () => {
    const held = await insertEvent('accepted');
    const free = await insertEvent('accepted');
    const holder = db.createQueryRunner();
    await holder.connect();
    await holder.startTransaction();
    try {
      await holder.query(`SELECT 1 FROM webhook_events WHERE id = $1 FOR UPDATE`, [held.id]);
      const [{ pid }] = await holder.query(`SELECT pg_backend_pid() AS pid`);
      const sweep = sweeper().sweep();
      const blocked = waitFor(
        async () =>
          (await db.query(`SELECT 1 FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))`, [pid]))
            .length > 0,
        { timeoutMs: 10_000, what: 'a sweeper waiting for the held event' },
      ).then(() => 'blocked' as const);
      const outcome = await Promise.race([sweep.then((n) => n), blocked]);
      expect(outcome).toBe(1);
      expect(await enqueuedAt(free.id)).not.toBeNull();
      expect(await enqueuedAt(held.id)).toBeNull();
    } finally {
      await holder.rollbackTransaction();
      await holder.release();
    }
    await sweeper().sweep();
  });
});
