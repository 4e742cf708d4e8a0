import { DataSource } from 'typeorm';
import { insertPartner } from '../../test/support/payout-rows';
import { loadConfig } from '../config/app-config';
import { dataSourceOptions } from '../database/data-source-options';
import { IdempotencyHold, IdempotencyService } from '../partners/idempotency.service';
import { FreelancersService } from './freelancers.service';

/**
 * A request's effect and its Idempotency-Key's answer commit together: a process that dies right after the
 * effect leaves the key completed, so the client's retry gets the first answer and never makes a second one.
 */
describe(`${FreelancersService.name} with a held Idempotency-Key`, () => {
  let db: DataSource;
  let keys: IdempotencyService;
  let sut: FreelancersService;
  let partnerId: string;
  let counter = 0;

  beforeAll(async () => {
    db = await new DataSource(dataSourceOptions(loadConfig().databaseUrl)).initialize();
    keys = new IdempotencyService(db);
    sut = new FreelancersService(db, keys);
    partnerId = await insertPartner(db, 'idem-freelancers');
  });

  afterAll(async () => {
    await db.destroy();
  });

  async function hold(key: string): Promise<IdempotencyHold> {
    const claim = await keys.claim(partnerId, key, `hash-of-${key}`);
    if (claim.kind !== 'claimed') throw new Error(`the key ${key} was not claimed: ${claim.kind}`);
    return { partnerId, key, requestHash: `hash-of-${key}`, token: claim.token, status: 201 };
  }

  const freelancer = () => {
    counter += 1;
    return { externalRef: `idem-${process.pid}-${counter}`, name: 'Ayesha Khan', cnic: '35202-1234567-1' };
  };

  it('completes the key with the created freelancer in the same transaction', async () => {
    const held = await hold(`k-${process.pid}-created`);
    const created = await sut.create(partnerId, freelancer(), held);
    // No interceptor ran after it, as when the process dies right after the commit: the answer is kept already.
    expect(await keys.claim(partnerId, held.key, held.requestHash)).toEqual({
      kind: 'replay',
      status: 201,
      body: JSON.parse(JSON.stringify(created)),
    });
  });

  it('completes the key with a created account in the same transaction', async () => {
    const owner = await sut.create(partnerId, freelancer());
    const held = await hold(`k-${process.pid}-account`);
    const account = await sut.addAccount(
      partnerId,
      owner.id,
      {
        kind: 'bank_fcy',
        institution: 'Meezan Bank',
        iban: 'PK36SCBL0000001123456702',
        title: 'Ayesha Khan',
      },
      held,
    );
    const replay = await keys.claim(partnerId, held.key, held.requestHash);
    expect(replay).toEqual({ kind: 'replay', status: 201, body: JSON.parse(JSON.stringify(account)) });
  });

  it('rolls the effect back when a retry took the key over after its lock ran out', async () => {
    const stale = await hold(`k-${process.pid}-stale`);
    await db.query(
      `UPDATE idempotency_keys SET locked_until = now() - interval '1 second' WHERE partner_id = $1 AND key = $2`,
      [partnerId, stale.key],
    );
    const retry = await hold(stale.key);
    const body = freelancer();
    await expect(sut.create(partnerId, body, stale)).rejects.toMatchObject({ status: 409 });
    const [{ n }] = await db.query(
      `SELECT count(*)::int AS n FROM freelancers WHERE partner_id = $1 AND external_ref = $2`,
      [partnerId, body.externalRef],
    );
    expect(n).toBe(0);
    const created = await sut.create(partnerId, body, retry);
    expect(created.externalRef).toBe(body.externalRef);
  });
});
