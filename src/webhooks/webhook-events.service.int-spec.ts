import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { insertConnection, insertPartner } from '../../test/support/payout-rows';
import { waitFor } from '../../test/support/app';
import { loadConfig } from '../config/app-config';
import { dataSourceOptions } from '../database/data-source-options';
import { MoneyDecimal } from '../money/money';
import { PayoutInstruction, payoutRow, PayoutSource } from '../payouts/payout-instruction';
import { EventRecord, WebhookEventsService } from './webhook-events.service';

describe(`${WebhookEventsService.name}: an event that loses the race for a new platform payout`, () => {
  let db: DataSource;
  let sut: WebhookEventsService;
  let partnerId: string;
  let connectionId: string;

  beforeAll(async () => {
    db = await new DataSource(dataSourceOptions(loadConfig().databaseUrl)).initialize();
    sut = new WebhookEventsService(db);
    partnerId = await insertPartner(db, 'event-race');
    connectionId = await insertConnection(db, partnerId);
  });

  afterAll(async () => {
    await db.destroy();
  });

  const instruction = (platformPayoutId: string, gross: string): PayoutInstruction => ({
    platformPayoutId,
    freelancerRef: 'fl-race',
    gross: new MoneyDecimal(gross),
    currency: 'USD',
    client: { name: 'Acme Inc', country: 'US' },
    description: 'Work',
    serviceCategory: 'software_development',
  });
  const source = (eventRowId: string): PayoutSource => ({
    partnerId,
    connectionId,
    platform: 'upwork',
    sourceEventId: eventRowId,
  });
  const record = (): EventRecord => ({
    connectionId,
    partnerId,
    eventId: `msg_${randomUUID()}`,
    type: 'payout.available',
    rawBody: Buffer.from('{}'),
    headers: {},
  });

  /**
   * The winner's payout is inserted in a transaction left open; the loser's statement starts while it is open (so
   * its snapshot cannot see that payout) and waits on the platform payout's unique key until the winner commits.
   */
  async function loseRace(winnerGross: string, loserGross: string) {
    const platformPayoutId = `PO-${randomUUID()}`;
    const winner = db.createQueryRunner();
    await winner.connect();
    try {
      await winner.startTransaction();
      const row = payoutRow(source(randomUUID()), instruction(platformPayoutId, winnerGross));
      const [{ id: winnerPayoutId }] = await winner.query(
        `INSERT INTO payouts (${row.columns}) VALUES (${row.placeholders(1)}) RETURNING id`,
        row.values,
      );
      const eventRowId = randomUUID();
      const outcome = sut.acceptWithPayout(
        record(),
        eventRowId,
        source(eventRowId),
        instruction(platformPayoutId, loserGross),
      );
      // Only a session the winner blocks counts, not any statement of that text waiting in this database.
      const [{ pid: winnerPid }] = await winner.query(`SELECT pg_backend_pid() AS pid`);
      await waitFor(
        async () =>
          (
            await db.query(
              `SELECT 1 FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))
                 AND query LIKE 'WITH live AS%'`,
              [winnerPid],
            )
          ).length > 0,
        { timeoutMs: 5000, what: 'the loser to wait on the winner’s payout' },
      );
      await winner.commitTransaction();
      const result = await outcome;
      const [event] = await db.query(
        `SELECT status, payout_id, enqueued_at, errors FROM webhook_events WHERE id = $1`,
        [eventRowId],
      );
      return { winnerPayoutId, result, event };
    } finally {
      await winner.release();
    }
  }

  it('is linked to the winner’s payout, owes no route job, and no second payout is made', async () => {
    const { winnerPayoutId, result, event } = await loseRace('1250.00', '1250.00');
    expect(result).toEqual({ duplicate: false, conflict: null, payoutId: winnerPayoutId, created: false });
    expect(event).toEqual(
      expect.objectContaining({ status: 'accepted', payout_id: winnerPayoutId, errors: null }),
    );
    expect(event.enqueued_at).toBeInstanceOf(Date);
  });

  it('is kept as rejected when it disagrees with the winner’s payout', async () => {
    const { result, event } = await loseRace('1250.00', '1300.00');
    expect(result).toEqual({ duplicate: false, conflict: expect.stringMatching(/1250\.00 USD/) });
    expect(event).toEqual(
      expect.objectContaining({
        status: 'rejected',
        payout_id: null,
        errors: [{ field: 'platformPayoutId', message: expect.stringMatching(/1250\.00 USD/) }],
      }),
    );
  });

  it('cannot be stored linked to a payout that does not exist', async () => {
    await expect(
      db.query(
        `INSERT INTO webhook_events (connection_id, partner_id, event_id, status, raw_body, payout_id)
         VALUES ($1, $2, $3, 'accepted', '\\x7b7d', $4)`,
        [connectionId, partnerId, `msg_${randomUUID()}`, randomUUID()],
      ),
    ).rejects.toThrow(/webhook_events_payout_fk/);
  });
});
