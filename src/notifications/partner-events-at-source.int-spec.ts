import { DataSource } from 'typeorm';
import { loadConfig } from '../config/app-config';
import { dataSourceOptions } from '../database/data-source-options';
import {
  insertConnection,
  insertFreelancer,
  insertPartner,
  insertPayout,
} from '../../test/support/payout-rows';

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

  const eventsOf = (id: string): Promise<{ type: string; payload: Record<string, unknown> }[]> =>
    db.query(
      `SELECT e.type, e.payload FROM partner_events e JOIN payout_timeline t ON t.id = e.source_id
        WHERE e.source = 'payout_timeline' AND t.payout_id = $1 ORDER BY t.id`,
      [id],
    );

  it('dates each event when its change was written, so a transaction that waited for the row dates it later', async () => {
    const [first, second] = await db.transaction(async (tx) => {
      await tx.query(`UPDATE payouts SET status = 'settled', net = '1200.00' WHERE id = $1`, [payoutId]);
      await tx.query(`INSERT INTO payout_timeline (payout_id, status, detail) VALUES ($1, 'settled', 'x')`, [
        payoutId,
      ]);
      // As a return that waited for this payout's row would, later in the same transaction's life.
      await tx.query(`SELECT pg_sleep(0.05)`);
      await tx.query(`UPDATE payouts SET status = 'returned' WHERE id = $1`, [payoutId]);
      await tx.query(`INSERT INTO payout_timeline (payout_id, status, detail) VALUES ($1, 'returned', 'y')`, [
        payoutId,
      ]);
      return tx.query(
        `SELECT e.created_at FROM partner_events e JOIN payout_timeline t ON t.id = e.source_id
         WHERE e.source = 'payout_timeline' AND t.payout_id = $1 ORDER BY t.id`,
        [payoutId],
      );
    });
    expect(second.created_at.getTime() - first.created_at.getTime()).toBeGreaterThanOrEqual(50);
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
