import { QueryRunner } from 'typeorm';

/**
 * Runs `work` in one transaction with a lock timeout of a few seconds (see withLockTimeout): for changes that
 * must land together or not at all, such as a rule dropped and its wider replacement added.
 */
export async function inShortTransaction(q: QueryRunner, work: () => Promise<void>): Promise<void> {
  await q.startTransaction();
  try {
    await q.query(`SET LOCAL lock_timeout = '5s'`);
    await work();
    await q.commitTransaction();
  } catch (error) {
    await q.rollbackTransaction();
    throw error;
  }
}

/**
 * Runs `statements` with a lock timeout of a few seconds: an ALTER TABLE on a table the app writes waits for
 * the transactions before it and makes every one after it wait in turn, so rather than stall intake or
 * deliveries behind a long transaction it gives up, the migration fails, and it runs again later.
 */
export async function withLockTimeout(q: QueryRunner, statements: string[]): Promise<void> {
  await q.query(`SET lock_timeout = '5s'`);
  try {
    for (const statement of statements) await q.query(statement);
  } finally {
    await q.query(`RESET lock_timeout`);
  }
}
