import { DataSource, EntityManager } from 'typeorm';
import { loadConfig } from '../config/app-config';
import { dataSourceOptions } from '../database/data-source-options';
import {
  insertConnection,
  insertFreelancer,
  insertPartner,
  insertPayout,
} from '../../test/support/payout-rows';
import { waitFor } from '../../test/support/app';

/** The triggers of the partner-events-at-source migration, against the real schema. */
describe('partner events written with their source row', () => {
  let db: DataSource;
  let partnerId: string;
  let payoutId: string;

  beforeAll(async () => {
    db = await new DataSource(dataSourceOptions(loadConfig().databaseUrl)).initialize();
  });

  beforeEach(async () => {
    partnerId = await insertPartner(db);
    const freelancerId = await insertFreelancer(db, partnerId);
    const connectionId = await insertConnection(db, partnerId);
    payoutId = await insertPayout(db, { partnerId, freelancerId, connectionId, gross: '1250.00' });
  });

  afterAll(async () => {
    await db.destroy();
  });

  const eventTimes = (tx: EntityManager): Promise<{ created_at: Date }[]> =>
    tx.query(
      `SELECT e.created_at FROM partner_events e JOIN payout_timeline t ON t.id = e.source_id
        WHERE e.source = 'payout_timeline' AND t.payout_id = $1 ORDER BY t.id`,
      [payoutId],
    );

  const eventsOf = (id: string): Promise<{ type: string; payload: Record<string, unknown> }[]> =>
    db.query(
      `SELECT e.type, e.payload FROM partner_events e JOIN payout_timeline t ON t.id = e.source_id
        WHERE e.source = 'payout_timeline' AND t.payout_id = $1 ORDER BY t.id`,
      [id],
    );

  /** Until the database's clock has reached a later millisecond than `at`, so a write from now on is dated after it. */
  const pastMillisecond = (tx: EntityManager, at: Date) =>
    waitFor(
      async () => {
        const [{ later }] = await tx.query(
          `SELECT date_trunc('milliseconds', clock_timestamp()) > $1::timestamptz AS later`,
          [at],
        );
        return later;
      },
      { intervalMs: 1, what: 'the database clock to pass a millisecond' },
    );

  it('dates each event when its change was written, so a transaction that waited for the row dates it later', async () => {
    const { began, first, second } = await db.transaction(async (tx) => {
      const [{ now }]: { now: Date }[] = await tx.query(`SELECT date_trunc('milliseconds', now()) AS now`);
      await pastMillisecond(tx, now);
      await tx.query(`UPDATE payouts SET status = 'settled', net = '1200.00' WHERE id = $1`, [payoutId]);
      await tx.query(`INSERT INTO payout_timeline (payout_id, status, detail) VALUES ($1, 'settled', 'x')`, [
        payoutId,
      ]);
      const [settled] = await eventTimes(tx);
      // As a return that waited for this payout's row would: written later in the same transaction's life.
      await pastMillisecond(tx, settled.created_at);
      await tx.query(`UPDATE payouts SET status = 'returned' WHERE id = $1`, [payoutId]);
      await tx.query(`INSERT INTO payout_timeline (payout_id, status, detail) VALUES ($1, 'returned', 'y')`, [
        payoutId,
      ]);
      const [, returned] = await eventTimes(tx);
      return { began: now, first: settled.created_at, second: returned.created_at };
    });
    // Dated by when each was written: neither at the transaction's start, and in the order they were written.
    expect(first.getTime()).toBeGreaterThan(began.getTime());
    expect(second.getTime()).toBeGreaterThan(first.getTime());
  });

  it('writes one payout event per settled or failed timeline row, with the payout as it stands then', async () => {
    await db.transaction(async (tx) => {
      await tx.query(`UPDATE payouts SET status = 'settled', net = '1200.00' WHERE id = $1`, [payoutId]);
      await tx.query(`INSERT INTO payout_timeline (payout_id, status, detail) VALUES ($1, 'sending', 'x')`, [
        payoutId,
      ]);
      await tx.query(`INSERT INTO payout_timeline (payout_id, status, detail) VALUES ($1, 'settled', 'y')`, [
        payoutId,
      ]);
    });

    const events = await eventsOf(payoutId);
    expect(events).toHaveLength(1);
    expect(events[0].type).toBe('payout.settled');
    expect(events[0].payload).toMatchObject({
      payoutId,
      status: 'settled',
      gross: '1250.00',
      net: '1200.00',
      currency: 'USD',
    });
  });

  it('writes nothing when the transaction of the source row rolls back', async () => {
    await expect(
      db.transaction(async (tx) => {
        await tx.query(`INSERT INTO payout_timeline (payout_id, status, detail) VALUES ($1, 'failed', 'z')`, [
          payoutId,
        ]);
        expect(
          (await tx.query(`SELECT 1 FROM partner_events WHERE partner_id = $1`, [partnerId])).length,
        ).toBe(1);
        throw new Error('rolled back on purpose');
      }),
    ).rejects.toThrow('rolled back on purpose');

    expect(await eventsOf(payoutId)).toEqual([]);
  });
});
