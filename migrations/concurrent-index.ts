import { QueryRunner } from 'typeorm';

/**
 * Builds index `name` (`definition` is what follows `ON`; `unique` for a unique one) without locking its table against writes, for a
 * migration with `transaction = false`. A build cut short leaves an invalid index behind: it is dropped first,
 * concurrently too (a plain DROP INDEX would lock the table while it waits), so running again builds it afresh.
 */
export async function createIndexConcurrently(
  q: QueryRunner,
  name: string,
  definition: string,
  unique = false,
): Promise<void> {
  const invalid = await q.query(
    `SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = $1 AND NOT i.indisvalid`,
    [name],
  );
  if (invalid.length) await q.query(`DROP INDEX CONCURRENTLY IF EXISTS ${name}`);
  await q.query(`CREATE ${unique ? 'UNIQUE ' : ''}INDEX CONCURRENTLY IF NOT EXISTS ${name} ON ${definition}`);
}
