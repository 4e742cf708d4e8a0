import { Injectable } from '@nestjs/common';
import Decimal from 'decimal.js';
import { randomUUID } from 'node:crypto';
import { DataSource, EntityManager } from 'typeorm';
import { placeholders } from '../database/sql';
import { Clock } from '../common/clock';
import { Problems } from '../common/problem';
import { formatAmount, parseAmount, parseDecimal } from '../money/money';
import { IdempotencyHold, IdempotencyService } from '../partners/idempotency.service';
import { InvoiceDto, RecordPrcDto } from './dto/invoice.dto';
import { formatRate, holdFxRates, latestRateSql, USD_PKR } from './fx-rates.service';
import { InvoiceDocumentsService } from './invoice-documents.service';
import { formatInvoiceNumber } from './invoice-number';
import { InvoiceSigner } from './invoice-signer.service';
import { ExportStatus } from './invoice-view';
import { buildIssuedPart, InvoiceFacts } from './issued-part';
import {
  esfcaRetained,
  pakistanDate,
  pakistanMonthBounds,
  pakistanMonthStart,
  pakistanYear,
  parsePakistanInstant,
  pkrEquivalent,
} from './pakistan-export';
import { buildStatusEvent } from './status-event';

export interface IssueInvoiceInput extends InvoiceFacts {
  partnerId: string;
  freelancerId: string;
}

export interface RealizeInvoiceInput {
  payoutId: string;
  realizedAt: Date;
  route: { routeId: string; provider: string; rail: string };
  routingFees: Decimal;
  netRealized: Decimal;
}

/** An invoice as a status change left it. */
interface MovedInvoice {
  id: string;
  partner_id: string;
  number: string;
  sha256: string;
  previous: ExportStatus;
  freelancer_id: string;
  net_realized: string | null;
  realized_at: Date | null;
}

interface LockedInvoice {
  id: string;
  partner_id: string;
  number: string;
  sha256: string;
  export_status: ExportStatus;
  gross: string;
  net_realized: string | null;
  realized_at: Date | null;
  prc_number: string | null;
  prc_issued_at: Date | null;
  prc_bank: string | null;
}

/**
 * Issues export invoices and moves their export status with the money. The pipeline calls the first methods
 * inside its own transactions, so an invoice, its number and its status events commit or roll back with the
 * payout step that caused them.
 */
@Injectable()
export class InvoicesService {
  constructor(
    private readonly db: DataSource,
    private readonly signer: InvoiceSigner,
    private readonly documents: InvoiceDocumentsService,
    private readonly clock: Clock,
    private readonly keys: IdempotencyService,
  ) {}

  /** One invoice per payout: a second call, however it races the first, answers the invoice that exists. */
  async issueForPayout(
    tx: EntityManager,
    p: IssueInvoiceInput,
  ): Promise<{ invoiceId: string; created: boolean }> {
    if (p.currency !== 'USD') throw new Error(`Invoices are issued in USD, not ${String(p.currency)}`);
    const gross = parseAmount(p.gross.toFixed());
    if (gross.lte(0)) throw new Error(`Invoice gross must be positive, got ${gross.toFixed()}`);

    // Locking the payout row serializes every issuer of this payout before any number is taken. The row as locked
    // is its latest version, so an invoice another issuer committed meanwhile shows in its invoice_id.
    const payouts = await tx.query(
      `SELECT partner_id, coalesce(invoice_id, (SELECT i.id FROM invoices i WHERE i.payout_id = p.id)) AS invoice_id
       FROM payouts p WHERE p.id = $1 FOR NO KEY UPDATE OF p`,
      [p.payoutId],
    );
    if (!payouts.length) throw new Error(`Payout ${p.payoutId} does not exist`);
    if (payouts[0].partner_id !== p.partnerId) {
      throw new Error(`Payout ${p.payoutId} does not belong to partner ${p.partnerId}`);
    }
    if (payouts[0].invoice_id) return { invoiceId: payouts[0].invoice_id, created: false };

    // The counter row stays locked until the caller commits; a rollback gives the number back, so no gap. It
    // also holds the latest issue time it numbered: a later number is never issued at an earlier time.
    const year = pakistanYear(p.issuedAt);
    const [{ last: seq, last_issued_at: issuedAt }]: { last: number; last_issued_at: Date }[] =
      await tx.query(
        `INSERT INTO invoice_counters (freelancer_id, year, last, last_issued_at) VALUES ($1, $2, 1, $3)
       ON CONFLICT (freelancer_id, year) DO UPDATE
         SET last = invoice_counters.last + 1,
             last_issued_at = GREATEST(invoice_counters.last_issued_at, EXCLUDED.last_issued_at)
       RETURNING last, last_issued_at`,
        [p.freelancerId, year, p.issuedAt],
      );
    const id = randomUUID();
    const number = formatInvoiceNumber(year, seq);
    const issued = buildIssuedPart({
      id,
      number,
      issuedAt,
      payoutId: p.payoutId,
      exporter: p.exporter,
      client: p.client,
      description: p.description,
      serviceCategory: p.serviceCategory,
      gross,
      currency: p.currency,
    });
    const sealed = this.signer.seal(issued);
    const event = this.statusEvent({
      invoice: { id, partner_id: p.partnerId, number, sha256: sealed.sha256 },
      status: 'awaiting_proceeds',
      previousStatus: null,
      at: issuedAt,
      detail: 'issued when the payout was routed',
    });
    // The invoice, its first status event and the payout's link to it, in one statement.
    await tx.query(
      `WITH issued AS (
         INSERT INTO invoices (id, partner_id, freelancer_id, payout_id, year, seq, number, issued_at, currency, gross,
                               purpose_code, issued_document, sha256, signature, export_status)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 'awaiting_proceeds')
         RETURNING id, payout_id),
       linked AS (UPDATE payouts SET invoice_id = $1 WHERE id = (SELECT payout_id FROM issued))
       INSERT INTO invoice_status_events (${EVENT_COLUMNS}) SELECT id, ${placeholders(15, event.length)} FROM issued`,
      [
        id,
        p.partnerId,
        p.freelancerId,
        p.payoutId,
        year,
        seq,
        number,
        issued.issuedAt,
        issued.currency,
        issued.gross,
        issued.purposeCode,
        sealed.canonical,
        sealed.sha256,
        sealed.signature,
        ...event,
      ],
    );
    return { invoiceId: id, created: true };
  }

  /**
   * Fills the realization once, when the payout settles: route, fees, net, the USD-PKR rate in force on the
   * (Pakistani) realization date and the PKR equivalent. A repeat is a no-op. A payout that failed and was
   * then retried by ops can still realize its proceeds.
   */
  async markRealized(tx: EntityManager, p: RealizeInvoiceInput): Promise<void> {
    // The invoice, locked, with the rate in force on the day of realization; no rate is recorded meanwhile.
    await holdFxRates(tx, 'shared');
    const [invoice]: Array<
      LockedInvoice & { freelancer_id: string; fx_rate: string | null; fx_as_of: string | null }
    > = await tx.query(
      `SELECT ${LOCKED_COLUMNS}, freelancer_id, fx.rate::text AS fx_rate, fx.as_of::text AS fx_as_of
       FROM invoices LEFT JOIN LATERAL (${latestRateSql('$2', '$3::date')}) fx ON true
       WHERE payout_id = $1 FOR UPDATE OF invoices`,
      [p.payoutId, USD_PKR, pakistanDate(p.realizedAt)],
    );
    if (!invoice) throw new Error(`Payout ${p.payoutId} settled without an invoice`);
    if (invoice.net_realized !== null) return;
    if (invoice.export_status !== 'awaiting_proceeds' && invoice.export_status !== 'proceeds_failed') return;

    const routingFees = parseAmount(p.routingFees.toFixed());
    const netRealized = parseAmount(p.netRealized.toFixed());
    const gross = invoice.gross;
    if (routingFees.lt(0) || netRealized.lte(0) || !routingFees.plus(netRealized).equals(gross)) {
      throw new Error(
        `Invoice ${invoice.number}: routing fees ${routingFees.toFixed(2)} and net ${netRealized.toFixed(2)} do not add up to gross ${gross}`,
      );
    }
    const fx =
      invoice.fx_rate === null ? null : { rate: parseDecimal(invoice.fx_rate), asOf: invoice.fx_as_of! };
    const pkr = fx ? pkrEquivalent(netRealized, fx.rate) : null;
    const earlier = await this.addRealizedThisMonth(tx, invoice.freelancer_id, p.realizedAt, netRealized);
    const retained = esfcaRetained(
      netRealized,
      earlier,
      await this.keptThisMonth(tx, invoice.freelancer_id, p.realizedAt),
    );
    const event = this.statusEvent({
      invoice,
      status: 'proceeds_realized',
      previousStatus: invoice.export_status,
      at: p.realizedAt,
      detail: `USD ${formatAmount(netRealized)} credited via ${p.route.routeId}`,
      data: {
        route: p.route,
        routingFees: formatAmount(routingFees),
        netRealized: formatAmount(netRealized),
        fx: fx ? { pair: USD_PKR, rate: formatRate(fx.rate), asOf: fx.asOf } : null,
        pkrEquivalent: pkr ? formatAmount(pkr) : null,
        esfcaRetained: formatAmount(retained),
      },
    });
    // The realization and its status event, in one statement.
    await tx.query(
      `WITH realized AS (
         UPDATE invoices SET export_status = 'proceeds_realized', realized_at = $2, route_id = $3, provider = $4,
                rail = $5, routing_fees = $6, net_realized = $7, fx_rate = $8, fx_as_of = $9, pkr_equivalent = $10,
                esfca_retained = $11
         WHERE id = $1 AND net_realized IS NULL RETURNING id)
       INSERT INTO invoice_status_events (${EVENT_COLUMNS}) SELECT id, ${placeholders(12, event.length)} FROM realized`,
      [
        invoice.id,
        p.realizedAt,
        p.route.routeId,
        p.route.provider,
        p.route.rail,
        formatAmount(routingFees),
        formatAmount(netRealized),
        fx ? fx.rate.toFixed() : null,
        fx ? fx.asOf : null,
        pkr ? formatAmount(pkr) : null,
        formatAmount(retained),
        ...event,
      ],
    );
  }

  /**
   * Adds `net` to what the freelancer realized in the Pakistani month of `at`, and answers what was realized before
   * it. The month's row stays locked until commit, so realizations of one freelancer and month take turns and each
   * ESFCA share counts every share before it.
   */
  private async addRealizedThisMonth(
    tx: EntityManager,
    freelancerId: string,
    at: Date,
    net: Decimal,
  ): Promise<Decimal> {
    const [row]: Array<{ earlier: string }> = await tx.query(
      `INSERT INTO invoice_realized_months AS m (freelancer_id, month, realized) VALUES ($1, $2::date, $3)
       ON CONFLICT (freelancer_id, month) DO UPDATE SET realized = m.realized + EXCLUDED.realized
       RETURNING (m.realized - $3)::text AS earlier`,
      [freelancerId, pakistanMonthStart(at), formatAmount(net)],
    );
    return parseDecimal(row.earlier);
  }

  /**
   * What the ESFCA holds of the freelancer's standing proceeds of the Pakistani month of `at`: the shares of the
   * month's invoices not returned since. Read under the month's row lock (addRealizedThisMonth), so it counts every
   * realization committed before this one.
   */
  private async keptThisMonth(tx: EntityManager, freelancerId: string, at: Date): Promise<Decimal> {
    const { start, end } = pakistanMonthBounds(at);
    const [row]: Array<{ kept: string }> = await tx.query(
      `SELECT coalesce(sum(esfca_retained), 0)::text AS kept FROM invoices
       WHERE freelancer_id = $1 AND realized_at >= $2 AND realized_at < $3
         AND export_status IN ('proceeds_realized', 'prc_issued')`,
      [freelancerId, start, end],
    );
    return parseDecimal(row.kept);
  }

  /** awaiting_proceeds → proceeds_failed when every route failed; a repeat, or no invoice yet, is a no-op. */
  async markFailed(tx: EntityManager, p: { payoutId: string; at: Date; reason: string }): Promise<void> {
    await this.moveByPayout(tx, p.payoutId, ['awaiting_proceeds'], 'proceeds_failed', p.at, p.reason);
  }

  /**
   * proceeds_realized (or prc_issued) → proceeds_failed when the provider returns a settled payout: the
   * realization and any e-PRC stay on record (they did happen) and the history says why the proceeds are no longer
   * there. A repeat is a no-op.
   */
  async markReturned(tx: EntityManager, p: { payoutId: string; at: Date; reason: string }): Promise<void> {
    const moved = await this.moveByPayout(
      tx,
      p.payoutId,
      ['proceeds_realized', 'prc_issued'],
      'proceeds_failed',
      p.at,
      `returned: ${p.reason}`,
    );
    if (!moved) {
      // Moved already (a return told twice) is done. A settled payout's invoice is otherwise realized or its
      // e-PRC recorded: one in any other state means the books disagree, and the return must not commit with the
      // invoice still saying the proceeds arrived.
      const [invoice] = await tx.query(`SELECT export_status FROM invoices WHERE payout_id = $1`, [
        p.payoutId,
      ]);
      if (invoice?.export_status === 'proceeds_failed') return;
      throw new Error(`The invoice of payout ${p.payoutId} is in no state a return can move.`);
    }
    if (!moved.realized_at) return;
    // What a provider took back is no longer realized: later ESFCA shares of its month are figured without it.
    await tx.query(
      `UPDATE invoice_realized_months SET realized = greatest(realized - $3, 0)
       WHERE freelancer_id = $1 AND month = $2::date`,
      [moved.freelancer_id, pakistanMonthStart(moved.realized_at), moved.net_realized],
    );
  }

  /**
   * proceeds_failed → awaiting_proceeds when a payout that failed before any proceeds were realized is routed again
   * (after an ops retry): the money is on its way again, and a bank checking the invoice meanwhile must not read
   * that it failed. An invoice whose proceeds were realized and then returned is left as it is; so is any other.
   */
  async markAwaitingAgain(
    tx: EntityManager,
    p: { payoutId: string; at: Date; reason: string },
  ): Promise<void> {
    await this.moveByPayout(tx, p.payoutId, ['proceeds_failed'], 'awaiting_proceeds', p.at, p.reason, {
      unrealizedOnly: true,
    });
  }

  /**
   * Records the bank's e-PRC: proceeds_realized → prc_issued; the same PRC again answers the invoice as it is. A bank
   * certifies proceeds it has received, so the e-PRC's date lies between the realization's day and today (Pakistan).
   * With a held Idempotency-Key, the answer is kept in the transaction that records it: a retry after a crash right
   * after the commit is answered the first answer, even once the proceeds came back since.
   */
  async recordPrc(
    partnerId: string,
    invoiceId: string,
    dto: RecordPrcDto,
    hold: IdempotencyHold | null = null,
  ): Promise<InvoiceDto> {
    // The DTO let only a text through that parses.
    const issuedAt = parsePakistanInstant(dto.issuedAt)!;
    if (pakistanDate(issuedAt) > pakistanDate(this.clock.now())) {
      throw Problems.validation([
        { field: 'issuedAt', message: 'issuedAt must not be later than today in Pakistan' },
      ]);
    }
    return this.db.transaction(async (tx) => {
      const rows: LockedInvoice[] = await tx.query(
        `SELECT ${LOCKED_COLUMNS} FROM invoices WHERE id = $1 AND partner_id = $2 FOR UPDATE`,
        [invoiceId, partnerId],
      );
      if (!rows.length) throw Problems.notFound('Invoice');
      const invoice = rows[0];
      if (invoice.export_status === 'prc_issued') {
        const same =
          invoice.prc_number === dto.prcNumber &&
          invoice.prc_bank === dto.bank &&
          invoice.prc_issued_at?.getTime() === issuedAt.getTime();
        if (!same) {
          throw Problems.conflict(`Invoice ${invoice.number} already has e-PRC ${invoice.prc_number}.`, [
            { field: 'prcNumber', message: 'an e-PRC is already recorded for this invoice' },
          ]);
        }
        return this.answer(tx, partnerId, invoiceId, hold);
      }
      if (invoice.export_status !== 'proceeds_realized' || invoice.realized_at === null) {
        throw Problems.conflict(
          `An e-PRC can be recorded only once the proceeds are realized; invoice ${invoice.number} is ${invoice.export_status}.`,
        );
      }
      if (pakistanDate(issuedAt) < pakistanDate(invoice.realized_at)) {
        throw Problems.validation([
          {
            field: 'issuedAt',
            message: `issuedAt must not be earlier than the day the proceeds were realized (${pakistanDate(invoice.realized_at)} in Pakistan)`,
          },
        ]);
      }
      const now = this.clock.now();
      await tx.query(
        `UPDATE invoices SET export_status = 'prc_issued', prc_number = $2, prc_issued_at = $3, prc_bank = $4,
                prc_recorded_at = $5
         WHERE id = $1 AND export_status = 'proceeds_realized'`,
        [invoiceId, dto.prcNumber, issuedAt, dto.bank, now],
      );
      await this.appendEvent(tx, {
        invoice,
        status: 'prc_issued',
        previousStatus: 'proceeds_realized',
        at: now,
        detail: `e-PRC ${dto.prcNumber} issued by ${dto.bank} on ${pakistanDate(issuedAt)}`,
        data: { prcNumber: dto.prcNumber, issuedAt: issuedAt.toISOString(), bank: dto.bank },
      });
      return this.answer(tx, partnerId, invoiceId, hold);
    });
  }

  /** The invoice as it now stands, kept as the held key's answer in the same transaction. */
  private async answer(
    tx: EntityManager,
    partnerId: string,
    invoiceId: string,
    hold: IdempotencyHold | null,
  ): Promise<InvoiceDto> {
    const invoice = await this.documents.get(partnerId, invoiceId, tx);
    await this.keys.completeIn(tx, hold, invoice);
    return invoice;
  }

  private async moveByPayout(
    tx: EntityManager,
    payoutId: string,
    from: ExportStatus[],
    to: ExportStatus,
    at: Date,
    detail: string,
    options: { unrealizedOnly?: boolean } = {},
  ): Promise<MovedInvoice | null> {
    // Locked first, in a statement of its own: a lock that waited for another transaction's change (an e-PRC
    // recorded meanwhile) reads the row as that change left it, and only the next statement's snapshot sees that
    // version too. In one statement the update's join read the row as it was before the wait and moved nothing.
    const locked: { id: string; export_status: ExportStatus }[] = await tx.query(
      `SELECT id, export_status FROM invoices
       WHERE payout_id = $1 AND export_status = ANY($2::text[]) AND (NOT $3 OR net_realized IS NULL)
       FOR UPDATE`,
      [payoutId, from, options.unrealizedOnly ?? false],
    );
    if (!locked.length) return null;
    // An UPDATE … RETURNING answers [rows, affected count] through this driver.
    const [[invoice]]: [MovedInvoice[], number] = await tx.query(
      // The status it had is the locked row's, so the event names the one it really moved from.
      `UPDATE invoices SET export_status = $2 WHERE id = $1
       RETURNING id, partner_id, number, sha256, $3::text AS previous, freelancer_id,
                 net_realized::text AS net_realized, realized_at`,
      [locked[0].id, to, locked[0].export_status],
    );
    await this.appendEvent(tx, { invoice, status: to, previousStatus: invoice.previous, at, detail });
    return invoice;
  }

  /**
   * Each status change is a signed document of its own, and the row a partner notifier reads: its values after
   * the invoice id, in the order of EVENT_COLUMNS.
   */
  private statusEvent(p: {
    invoice: { id: string; partner_id: string; number: string; sha256: string };
    status: ExportStatus;
    previousStatus: ExportStatus | null;
    at: Date;
    detail: string;
    data?: Record<string, unknown>;
  }): unknown[] {
    const sealed = this.signer.seal(buildStatusEvent(p));
    return [
      p.invoice.partner_id,
      p.status,
      p.previousStatus,
      p.at,
      p.detail,
      sealed.canonical,
      sealed.sha256,
      sealed.signature,
    ];
  }

  private async appendEvent(
    tx: EntityManager,
    p: Parameters<InvoicesService['statusEvent']>[0],
  ): Promise<void> {
    const event = this.statusEvent(p);
    await tx.query(
      `INSERT INTO invoice_status_events (${EVENT_COLUMNS}) VALUES ($1, ${placeholders(2, event.length)})`,
      [p.invoice.id, ...event],
    );
  }
}

const EVENT_COLUMNS =
  'invoice_id, partner_id, status, previous_status, at, detail, document, sha256, signature';

const LOCKED_COLUMNS = `id, partner_id, number, sha256, export_status, gross::text AS gross,
  net_realized::text AS net_realized, realized_at,
  prc_number, prc_issued_at, prc_bank`;
