import { MigrationInterface, QueryRunner } from 'typeorm';
import { withLockTimeout } from './lock-timeout';

/**
 * A payout routed again (an ops retry of a failed payout, or of one that waited unmatched after a decision)
 * gets a new decision, which used to replace the one its earlier attempts were made under. Now a trigger keeps
 * the replaced decision, with the account it was made for, before the new one lands, so every round stays
 * explainable. Only replaced decisions are kept: a payout routed once writes nothing here. The rows are never
 * changed or removed (a trigger refuses it).
 *
 * Creating the trigger takes a short lock on payouts, under a lock timeout. Can run again. Going down refuses
 * while a replaced decision is kept: dropping the table would lose them.
 */
export class EarlierDecisions1763900029000 implements MigrationInterface {
  name = 'EarlierDecisions1763900029000';
  transaction = false;

  up(q: QueryRunner): Promise<void> {
    return withLockTimeout(q, [
      `CREATE TABLE IF NOT EXISTS payout_earlier_decisions (
         id bigserial PRIMARY KEY,
         payout_id uuid NOT NULL REFERENCES payouts(id),
         account_id uuid REFERENCES dollar_accounts(id),
         decision jsonb NOT NULL,
         replaced_at timestamptz NOT NULL DEFAULT clock_timestamp()
       )`,
      `CREATE INDEX IF NOT EXISTS payout_earlier_decisions_payout_idx ON payout_earlier_decisions (payout_id, id)`,
      `CREATE OR REPLACE FUNCTION payout_earlier_decisions_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         RAISE EXCEPTION 'earlier routing decisions are kept as they were: % is refused', TG_OP;
       END $$`,
      `DROP TRIGGER IF EXISTS payout_earlier_decisions_append_only ON payout_earlier_decisions`,
      `CREATE TRIGGER payout_earlier_decisions_append_only
         BEFORE UPDATE OR DELETE OR TRUNCATE ON payout_earlier_decisions
         FOR EACH STATEMENT EXECUTE FUNCTION payout_earlier_decisions_append_only()`,
      `CREATE OR REPLACE FUNCTION payout_decision_replaced() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         INSERT INTO payout_earlier_decisions (payout_id, account_id, decision)
         VALUES (OLD.id, OLD.account_id, OLD.decision);
         RETURN NULL;
       END $$`,
      `DROP TRIGGER IF EXISTS payout_decision_replaced ON payouts`,
      `CREATE TRIGGER payout_decision_replaced AFTER UPDATE OF decision ON payouts
         FOR EACH ROW WHEN (OLD.decision IS NOT NULL AND OLD.decision IS DISTINCT FROM NEW.decision)
         EXECUTE FUNCTION payout_decision_replaced()`,
    ]);
  }

  async down(q: QueryRunner): Promise<void> {
    const [{ n }] = await q.query(`SELECT count(*)::int AS n FROM payout_earlier_decisions`);
    if (n > 0) throw new Error(`${n} replaced routing decision(s) are kept; going down would lose them`);
    await q.query(`DROP TRIGGER IF EXISTS payout_decision_replaced ON payouts`);
    await q.query(`DROP FUNCTION IF EXISTS payout_decision_replaced()`);
    await q.query(`DROP TABLE IF EXISTS payout_earlier_decisions`);
    await q.query(`DROP FUNCTION IF EXISTS payout_earlier_decisions_append_only()`);
  }
}
