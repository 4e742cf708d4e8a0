import { randomUUID } from 'node:crypto';
import { ownDatabaseForSuite } from '../../test/support/own-database';
import { insertConnection, insertPartner } from '../../test/support/payout-rows';
import { WebhookEventPayoutLink1763900012000 } from '../../migrations/1763900012000-webhook-event-payout-link';

describe(WebhookEventPayoutLink1763900012000.name, () => {
  // A database of its own: the test takes the key away for a moment, which no other suite may see.
  const own = ownDatabaseForSuite('migration');

  it('clears links to payouts that were never made, then holds every link to the key; it can run again', async () => {
    const { db } = own;
    const partnerId = await insertPartner(db);
    const connectionId = await insertConnection(db, partnerId);
    await db.query(`ALTER TABLE webhook_events DROP CONSTRAINT webhook_events_payout_fk`);
    const [dangling] = await db.query(
      `INSERT INTO webhook_events (connection_id, partner_id, event_id, status, raw_body, payout_id)
       VALUES ($1, $2, $3, 'accepted', '\\x7b7d', $4) RETURNING id`,
      [connectionId, partnerId, `msg_${randomUUID()}`, randomUUID()],
    );

    const runner = db.createQueryRunner();
    try {
      await new WebhookEventPayoutLink1763900012000().up(runner);
      await new WebhookEventPayoutLink1763900012000().up(runner);
    } finally {
      await runner.release();
    }

    const [event] = await db.query(`SELECT status, payout_id FROM webhook_events WHERE id = $1`, [
      dangling.id,
    ]);
    expect(event).toEqual({ status: 'accepted', payout_id: null });
    const [key] = await db.query(
      `SELECT convalidated FROM pg_constraint WHERE conname = 'webhook_events_payout_fk'`,
    );
    expect(key).toEqual({ convalidated: true });
  });
});
