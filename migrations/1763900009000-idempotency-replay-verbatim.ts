import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A replayed answer must be the first answer byte for byte. `jsonb` reorders an object's keys; `json` keeps the
 * text as it was written. (Answers stored before this keep jsonb's order: their first answer is gone.) Both
 * directions rewrite the table under an exclusive lock: run them when idempotent POSTs are quiet.
 */
export class IdempotencyReplayVerbatim1763900009000 implements MigrationInterface {
  name = 'IdempotencyReplayVerbatim1763900009000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE idempotency_keys ALTER COLUMN response_body TYPE json USING response_body::json`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(
      // jsonb has no \u0000, which json text may hold: such a character is dropped on the way back.
      `ALTER TABLE idempotency_keys ALTER COLUMN response_body TYPE jsonb
       USING replace(response_body::text, '\\u0000', '')::jsonb`,
    );
  }
}
