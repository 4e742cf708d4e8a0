import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The double-entry ledger (docs/ledger.md). The database itself guards the books:
 * every entry balances per currency and has at least two lines (checked at commit by
 * deferred constraint triggers), nothing is ever updated, deleted or truncated, an
 * idempotency key books a step once, and an entry is reversed at most once.
 */
export class Ledger1763900002000 implements MigrationInterface {
  name = 'Ledger1763900002000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE ledger_accounts (
        name text PRIMARY KEY CHECK (name ~ '^[a-z_]+(:[a-z0-9_.-]+)+$' AND length(name) <= 200),
        normal_side text NOT NULL CHECK (normal_side IN ('debit', 'credit')),
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    // payout_id carries no foreign key on purpose: a key share lock on the payout row would
    // queue behind the pipeline's own FOR UPDATE on it, and payouts are never deleted anyway.
    await q.query(`
      CREATE TABLE ledger_entries (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        seq bigint GENERATED ALWAYS AS IDENTITY,
        idempotency_key text NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 255),
        kind text NOT NULL CHECK (kind ~ '^[a-z_]{1,40}$'),
        payout_id uuid,
        reverses_entry_id uuid REFERENCES ledger_entries(id),
        description text NOT NULL CHECK (length(description) <= 500),
        created_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
        CONSTRAINT ledger_entries_idempotency_key_key UNIQUE (idempotency_key),
        CONSTRAINT ledger_entries_reversed_once UNIQUE (reverses_entry_id)
      )`);
    await q.query(
      `CREATE INDEX ledger_entries_payout_idx ON ledger_entries (payout_id, seq) WHERE payout_id IS NOT NULL`,
    );
    await q.query(`
      CREATE TABLE ledger_lines (
        entry_id uuid NOT NULL REFERENCES ledger_entries(id),
        line_no smallint NOT NULL CHECK (line_no >= 1),
        account text NOT NULL REFERENCES ledger_accounts(name),
        currency char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
        side text NOT NULL CHECK (side IN ('debit', 'credit')),
        amount numeric(20,2) NOT NULL CHECK (amount > 0),
        PRIMARY KEY (entry_id, line_no)
      )`);
    // Balances are derived from the lines; this index answers them without touching the heap.
    await q.query(
      `CREATE INDEX ledger_lines_account_idx ON ledger_lines (account, currency) INCLUDE (side, amount)`,
    );

    await q.query(`
      CREATE FUNCTION ledger_assert_balanced(p_entry uuid) RETURNS void LANGUAGE plpgsql AS $$
      DECLARE
        line_count int;
        unbalanced text;
      BEGIN
        SELECT count(*) INTO line_count FROM ledger_lines WHERE entry_id = p_entry;
        IF line_count < 2 THEN
          RAISE EXCEPTION 'ledger entry % has % line(s); an entry needs at least two', p_entry, line_count
            USING ERRCODE = 'check_violation';
        END IF;
        SELECT string_agg(format('%s debits %s, credits %s', currency, debits, credits), '; ')
          INTO unbalanced
          FROM (
            SELECT currency,
                   coalesce(sum(amount) FILTER (WHERE side = 'debit'), 0) AS debits,
                   coalesce(sum(amount) FILTER (WHERE side = 'credit'), 0) AS credits
              FROM ledger_lines WHERE entry_id = p_entry GROUP BY currency
          ) per_currency
         WHERE debits <> credits;
        IF unbalanced IS NOT NULL THEN
          RAISE EXCEPTION 'ledger entry % is unbalanced: %', p_entry, unbalanced USING ERRCODE = 'check_violation';
        END IF;
      END $$`);
    await q.query(`
      CREATE FUNCTION ledger_check_entry() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM ledger_assert_balanced(NEW.id);
        RETURN NULL;
      END $$`);
    await q.query(`
      CREATE FUNCTION ledger_check_line() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM ledger_assert_balanced(NEW.entry_id);
        RETURN NULL;
      END $$`);
    // Deferred to commit, so the lines of an entry may be written in any order and number of statements.
    // The entry trigger catches an entry without lines; the line trigger catches a line added to an old entry.
    await q.query(`
      CREATE CONSTRAINT TRIGGER ledger_entries_balanced AFTER INSERT ON ledger_entries
        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_check_entry()`);
    await q.query(`
      CREATE CONSTRAINT TRIGGER ledger_lines_balanced AFTER INSERT ON ledger_lines
        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_check_line()`);

    await q.query(`
      CREATE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'the ledger is append-only: % on % is refused; book a reversing entry instead',
          TG_OP, TG_TABLE_NAME USING ERRCODE = 'restrict_violation';
      END $$`);
    for (const table of ['ledger_accounts', 'ledger_entries', 'ledger_lines']) {
      await q.query(`
        CREATE TRIGGER ${table}_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON ${table}
          FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change()`);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE ledger_lines`);
    await q.query(`DROP TABLE ledger_entries`);
    await q.query(`DROP TABLE ledger_accounts`);
    await q.query(`DROP FUNCTION ledger_refuse_change()`);
    await q.query(`DROP FUNCTION ledger_check_line()`);
    await q.query(`DROP FUNCTION ledger_check_entry()`);
    await q.query(`DROP FUNCTION ledger_assert_balanced(uuid)`);
  }
}
