import { createHash } from 'node:crypto';
import { Client, DatabaseError, QueryConfig } from 'pg';

/** Named statements one connection keeps at most; past it, further texts run unnamed (parsed every time). */
export const MAX_PREPARED_PER_CONNECTION = 500;

/** Statement names by text, shared by every connection: hashing a text once is enough. */
const names = new Map<string, string>();

function statementName(text: string): string {
  let name = names.get(text);
  if (name === undefined) {
    name = `s_${createHash('sha1').update(text).digest('base64url')}`;
    if (names.size < MAX_PREPARED_PER_CONNECTION * 4) names.set(text, name);
  }
  return name;
}

/**
 * A pg client that prepares every parameterized statement once per connection. The app sends a few dozen
 * fixed SQL texts, each many times a second: unnamed, Postgres parses, analyzes and plans every one of them
 * again, which measured a third of its CPU on the payout pipeline. The name is a hash of the text, so two texts
 * never share one; statements without parameters (BEGIN, COMMIT, DDL) keep the simple protocol.
 * A connection pooler in front of Postgres must keep protocol-level prepared statements per server connection
 * (PgBouncer 1.21 or later with `max_prepared_statements`, or session pooling).
 */
export class PreparingClient extends Client {
  /** Texts whose prepared statement can no longer be trusted on this connection (see noteStale): they run unnamed. */
  private readonly stale = new Set<string>();

  override query(...args: unknown[]): never {
    const [text, values, callback] = args;
    if (typeof text === 'string' && Array.isArray(values) && values.length > 0 && callback === undefined) {
      const name = this.nameFor(text);
      if (name) {
        const config: QueryConfig = { name, text, values };
        const result = (super.query as (...a: unknown[]) => Promise<unknown>)(config);
        result.catch((error: unknown) => this.noteStale(text, error));
        return result as never;
      }
    }
    return (super.query as (...a: unknown[]) => never)(...args);
  }

  /**
   * When a prepared statement may no longer be usable on this connection, its text runs unnamed from then on:
   * - a column added or dropped under a running app (a migration during a rolling deploy) changes the result
   *   of a prepared `SELECT *` or `RETURNING *`, which Postgres then refuses for that statement;
   * - the statement is gone from the server (`DISCARD ALL`, `DEALLOCATE`, a pooler that does not keep it);
   * - pg could not serialize a parameter: it closes the statement on the server but still counts it prepared.
   * The failing call fails, and its transaction with it (its caller retries); the next call runs.
   */
  private noteStale(text: string, error: unknown): void {
    const stale =
      !(error instanceof DatabaseError) ||
      error.code === '26000' ||
      (error.code === '0A000' && error.routine === 'RevalidateCachedQuery');
    if (stale) this.stale.add(text);
  }

  private nameFor(text: string): string | null {
    if (this.stale.has(text)) return null;
    const name = statementName(text);
    const parsed = (this as unknown as { connection: { parsedStatements: Record<string, string> } })
      .connection.parsedStatements;
    if (parsed[name] !== undefined) return name;
    return Object.keys(parsed).length < MAX_PREPARED_PER_CONNECTION ? name : null;
  }
}
