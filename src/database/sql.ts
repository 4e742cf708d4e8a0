import { EntityManager } from 'typeorm';

/**
 * Runs an `UPDATE … RETURNING` and answers the returned rows. TypeORM's pg driver answers a bare UPDATE as
 * `[rows, rowCount]`, not as rows, so `result.length` would always be 2: every conditional transition reads
 * its rows through here.
 */
export async function updateReturning<T = Record<string, unknown>>(
  manager: Pick<EntityManager, 'query'>,
  sql: string,
  params: unknown[],
): Promise<T[]> {
  const result: unknown = await manager.query(sql, params);
  if (
    Array.isArray(result) &&
    result.length === 2 &&
    Array.isArray(result[0]) &&
    typeof result[1] === 'number'
  ) {
    return result[0] as T[];
  }
  return result as T[];
}

/** `$from, $from+1, …`: `count` query placeholders. */
export function placeholders(from: number, count: number): string {
  return Array.from({ length: count }, (_, i) => `$${from + i}`).join(', ');
}
