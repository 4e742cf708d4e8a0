import { DataSource } from 'typeorm';
import { waitFor } from './app';

/**
 * Runs `statements` in a transaction held open, starts `blocked` (which must come to wait for a lock those
 * statements took), waits until Postgres shows it waiting, then commits and answers what `blocked` answers. So a
 * test puts two transactions in one order for sure, instead of hoping for it.
 */
export async function commitOnceBlocked<T>(
  db: DataSource,
  statements: Array<[string, unknown[]]>,
  blocked: () => Promise<T>,
  what: string,
  /** Run once `blocked` waits, before the commit: what the held transaction goes on to do meanwhile. */
  then: Array<[string, unknown[]]> = [],
): Promise<T> {
  const held = db.createQueryRunner();
  await held.connect();
  await held.startTransaction();
  try {
    for (const [sql, params] of statements) await held.query(sql, params);
    const [{ pid }] = await held.query(`SELECT pg_backend_pid() AS pid`);
    const waiting = blocked();
    await waitFor(
      async () =>
        (await db.query(`SELECT 1 FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))`, [pid]))
          .length > 0,
      { what },
    );
    for (const [sql, params] of then) await held.query(sql, params);
    await held.commitTransaction();
    return await waiting;
  } finally {
    if (held.isTransactionActive) await held.rollbackTransaction();
    await held.release();
  }
}
