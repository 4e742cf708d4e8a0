import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Clock } from '../../common/clock';
import { Problems } from '../../common/problem';
import { untilAborted } from '../../common/until-aborted';
import { parsePakistanInstant } from '../../invoices/pakistan-export';
import { formatAmount, formatExact, MoneyDecimal, sumAmounts } from '../../money/money';
import { ConnectorRegistry, UnknownProviderError } from '../connectors/connector-registry';
import { ProviderConnector, StatementLine, StatementPage } from '../connectors/provider-connector';
import { AttemptStatus } from '../payout-status';
import { compareBooks, Discrepancy, OurTransfer } from './compare-books';
import { ReconciliationQuery, ReconciliationReportDto } from './reconciliation.dto';

/** The longest window one report reads: a month of transfers, a day more for the month's edges. */
export const MAX_WINDOW_DAYS = 31;
/** Statement lines asked for per page. */
export const STATEMENT_PAGE = 500;
/** A window holding more transfers than this is refused: the report would not fit in one answer. */
export const MAX_STATEMENT_LINES = 100_000;

interface AttemptRow {
  id: string;
  payout_id: string;
  idempotency_key: string;
  status: AttemptStatus;
  updated_at: Date;
  gross: string;
  currency: string;
}

/**
 * Compares a provider's books with ours for a window of time: every transfer the provider's statement shows as
 * accepted in the window is matched by idempotency key with our attempt, and every attempt of ours created in the
 * window that holds money as sent must be at the provider. Read-only: a discrepancy is for ops to look into, and
 * the ledger is never corrected from here.
 */
@Injectable()
export class ReconciliationService {
  constructor(
    private readonly db: DataSource,
    private readonly connectors: ConnectorRegistry,
    private readonly clock: Clock,
  ) {}

  /** A report for the window; `signal` ends the reading of the provider's books when the caller stops waiting. */
  async reconcile(
    providerId: string,
    query: ReconciliationQuery,
    signal?: AbortSignal,
  ): Promise<ReconciliationReportDto> {
    const connector = this.connector(providerId);
    const window = checkedWindow(query);
    const lines = await this.readStatement(connector, window, signal);
    const statement = new Map(lines.map((line) => [line.idempotencyKey, line]));
    const attempts = await this.ourAttempts(providerId, window, [...statement.keys()]);

    // An attempt of the window the statement does not show may have been accepted just outside it (sent again
    // later, or across the window's edge): the provider is asked for its key. One it holds is compared in the
    // window that holds it; one it does not is missing.
    let elsewhere = 0;
    const compared: OurTransfer[] = [];
    for (const attempt of attempts) {
      if (!statement.has(attempt.idempotencyKey)) {
        const status = await untilAborted(connector.getStatus(attempt.idempotencyKey, signal), signal);
        if (status.state !== 'not_found') {
          elsewhere += 1;
          continue;
        }
      }
      compared.push(attempt);
    }
    // The statement was read before our attempts: a transfer that moved on at the provider in between, and whose
    // move our pipeline booked before we read it (settled, returned, failed), would pass for a contradiction. The
    // provider is asked again for those keys, after our read, so that what is left contradicts for real (a
    // provider read after ours can only be ahead of us: `state_behind` at worst).
    let { matched, discrepancies } = compareBooks(compared, statement);
    const contradicted = discrepancies.filter((d) => d.kind === 'state_contradiction' && d.provider);
    if (contradicted.length) {
      for (const { provider: line } of contradicted) {
        const now = await untilAborted(connector.getStatus(line!.idempotencyKey, signal), signal);
        if (now.state !== 'not_found' && now.state !== line!.state)
          statement.set(line!.idempotencyKey, { ...line!, state: now.state });
      }
      ({ matched, discrepancies } = compareBooks(compared, statement));
    }

    return {
      providerId,
      from: window.from.toISOString(),
      to: window.to.toISOString(),
      checkedAt: this.clock.now().toISOString(),
      statement: totals(lines),
      matched,
      elsewhere,
      discrepancies: discrepancies.map(toDto),
    };
  }

  private connector(providerId: string): ProviderConnector {
    try {
      return this.connectors.get(providerId);
    } catch (error) {
      if (error instanceof UnknownProviderError) throw Problems.notFound('Provider');
      throw error;
    }
  }

  private async readStatement(
    connector: ProviderConnector,
    window: { from: Date; to: Date },
    signal?: AbortSignal,
  ): Promise<StatementLine[]> {
    const lines: StatementLine[] = [];
    let cursor: string | null = null;
    do {
      const page: StatementPage = await untilAborted(
        connector.statement(window, cursor, STATEMENT_PAGE, signal),
        signal,
      );
      lines.push(...page.lines);
      if (lines.length > MAX_STATEMENT_LINES) {
        throw Problems.unprocessable(
          [
            {
              field: 'to',
              message: `the window holds more than ${MAX_STATEMENT_LINES} transfers; narrow it`,
            },
          ],
          'The window is too large for one report.',
        );
      }
      cursor = page.next;
    } while (cursor !== null);
    return lines;
  }

  /**
   * Our attempts at the provider under the statement's keys, and those created in the window that hold the money
   * as sent (accepted, settled, returned): an attempt still pending or unknown may never have reached it.
   */
  private async ourAttempts(
    providerId: string,
    window: { from: Date; to: Date },
    keys: string[],
  ): Promise<OurTransfer[]> {
    const columns = `a.id, a.payout_id, a.idempotency_key, a.status, a.updated_at, p.gross::text AS gross, p.currency`;
    const rows: AttemptRow[] = await this.db.query(
      `SELECT ${columns} FROM payout_attempts a JOIN payouts p ON p.id = a.payout_id
        WHERE a.provider = $1 AND a.idempotency_key = ANY($2::text[])
       UNION
       SELECT ${columns} FROM payout_attempts a JOIN payouts p ON p.id = a.payout_id
        WHERE a.provider = $1 AND a.created_at >= $3 AND a.created_at < $4
          AND a.status IN ('accepted', 'settled', 'returned')`,
      [providerId, keys, window.from, window.to],
    );
    return rows.map((row) => ({
      attemptId: row.id,
      payoutId: row.payout_id,
      idempotencyKey: row.idempotency_key,
      status: row.status,
      amount: new MoneyDecimal(row.gross),
      currency: row.currency,
      updatedAt: row.updated_at,
    }));
  }
}

function checkedWindow(query: ReconciliationQuery): { from: Date; to: Date } {
  // Validated instants, or the scheduler's toISOString(): always ones this parser reads.
  const from = parsePakistanInstant(query.from)!;
  const to = parsePakistanInstant(query.to)!;
  if (to.getTime() <= from.getTime()) {
    throw Problems.validation([{ field: 'to', message: 'to must be after from' }]);
  }
  if (to.getTime() - from.getTime() > MAX_WINDOW_DAYS * 86_400_000) {
    throw Problems.validation([
      { field: 'to', message: `to must be at most ${MAX_WINDOW_DAYS} days after from` },
    ]);
  }
  return { from, to };
}

function totals(lines: StatementLine[]): ReconciliationReportDto['statement'] {
  const sum = (state: StatementLine['state']): string =>
    formatExact(sumAmounts(lines.filter((line) => line.state === state).map((line) => line.amount)));
  return {
    transfers: lines.length,
    processing: sum('processing'),
    settled: sum('settled'),
    failed: sum('failed'),
    returned: sum('returned'),
  };
}

function toDto(d: Discrepancy): ReconciliationReportDto['discrepancies'][number] {
  return {
    kind: d.kind,
    idempotencyKey: d.idempotencyKey,
    detail: d.detail,
    ours: d.ours && {
      payoutId: d.ours.payoutId,
      attemptId: d.ours.attemptId,
      status: d.ours.status,
      amount: formatAmount(d.ours.amount),
      currency: d.ours.currency,
      updatedAt: d.ours.updatedAt.toISOString(),
    },
    provider: d.provider && {
      transferId: d.provider.transferId,
      state: d.provider.state,
      amount: formatExact(d.provider.amount),
      currency: d.provider.currency,
      acceptedAt: d.provider.acceptedAt.toISOString(),
    },
  };
}
