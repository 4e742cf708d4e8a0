import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsOptional, IsString, MaxLength, ValidateBy } from 'class-validator';
import { Problems } from './problem';

export class PageQuery {
  @ApiPropertyOptional({ minimum: 1, maximum: 100, default: 20 })
  @IsOptional()
  // Plain decimal digits only: `0x2`, `2.0` or `1e2` stay text and are refused, as amounts are.
  @Transform(({ value }) => (typeof value === 'string' && /^[0-9]{1,4}$/.test(value) ? Number(value) : value))
  @ValidateBy({
    name: 'pageLimit',
    validator: {
      validate: (value: unknown) =>
        Number.isInteger(value) && (value as number) >= 1 && (value as number) <= 100,
      defaultMessage: () => 'limit must be a whole number from 1 to 100',
    },
  })
  limit?: number;

  @ApiPropertyOptional({ description: 'Opaque cursor from a previous page.' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  cursor?: string;
}

export class Page<T> {
  @ApiProperty({ isArray: true })
  data: T[];

  @ApiProperty({ type: String, nullable: true })
  nextCursor: string | null;
}

export interface Keyset {
  createdAt: string;
  id: string;
}

/** Cursor over (created_at, id), newest first: stable under inserts, opaque to clients. */
export function encodeCursor(row: { created_at: Date | string; id: string }): string {
  const createdAt = row.created_at instanceof Date ? row.created_at.toISOString() : row.created_at;
  return Buffer.from(JSON.stringify([createdAt, row.id])).toString('base64url');
}

/** What encodeCursor writes: an ISO instant in UTC, and a UUID. Anything else never reaches Postgres. */
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A calendar instant Postgres also accepts: V8 reads 30 February as 2 March, and year 0 exists only in V8. */
function isRealInstant(text: string): boolean {
  const at = new Date(text);
  return (
    !Number.isNaN(at.getTime()) &&
    at.getUTCFullYear() >= 1 &&
    at.toISOString().slice(0, 19) === text.slice(0, 19)
  );
}

export function decodeCursor(cursor: string | undefined): Keyset | null {
  if (!cursor) return null;
  try {
    const [createdAt, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [string, string];
    if (
      typeof createdAt !== 'string' ||
      !ISO_INSTANT.test(createdAt) ||
      !isRealInstant(createdAt) ||
      typeof id !== 'string' ||
      !UUID.test(id)
    ) {
      throw new Error('bad cursor');
    }
    return { createdAt, id };
  } catch {
    throw Problems.validation([{ field: 'cursor', message: 'cursor is not one this service issued' }]);
  }
}

/**
 * Appends the keyset condition and limit to a query whose rows carry created_at and id, newest first. Fetches one
 * extra row to know whether another page exists. The cursor carries created_at as a JavaScript Date, to the
 * millisecond: every paged table defaults created_at to `date_trunc('milliseconds', now())`, and a row written with
 * finer precision could be skipped at a page boundary.
 */
export function pageClause(query: PageQuery, params: unknown[], alias = ''): string {
  const prefix = alias ? `${alias}.` : '';
  const keyset = decodeCursor(query.cursor);
  let clause = '';
  if (keyset) {
    params.push(keyset.createdAt, keyset.id);
    clause += ` AND (${prefix}created_at, ${prefix}id) < ($${params.length - 1}::timestamptz, $${params.length}::uuid)`;
  }
  params.push((query.limit ?? 20) + 1);
  clause += ` ORDER BY ${prefix}created_at DESC, ${prefix}id DESC LIMIT $${params.length}`;
  return clause;
}

export function toPage<R extends { created_at: Date | string; id: string }, T>(
  rows: R[],
  query: PageQuery,
  map: (row: R) => T,
): Page<T> {
  const limit = query.limit ?? 20;
  const more = rows.length > limit;
  const kept = more ? rows.slice(0, limit) : rows;
  return { data: kept.map(map), nextCursor: more ? encodeCursor(kept[kept.length - 1]) : null };
}
