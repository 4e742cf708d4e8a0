import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { pageClause, toPage } from '../common/pagination';
import { IdempotencyHold, IdempotencyService } from '../partners/idempotency.service';
import { Problems } from '../common/problem';
import {
  AccountKind,
  CreateAccountDto,
  CreateFreelancerDto,
  DollarAccountDto,
  FreelancerDto,
  FreelancerPageDto,
  FreelancerQuery,
  UpdateFreelancerDto,
} from './dto/freelancer.dto';
import { ibanProblem, normalizeIban } from './identifiers';

interface FreelancerRow {
  id: string;
  partner_id: string;
  external_ref: string;
  name: string;
  cnic: string;
  ntn: string | null;
  pseb_registration_no: string | null;
  email: string | null;
  created_at: Date;
}

/** The fields PATCH may change, with their columns. */
const UPDATABLE: [keyof UpdateFreelancerDto, string][] = [
  ['name', 'name'],
  ['ntn', 'ntn'],
  ['psebRegistrationNo', 'pseb_registration_no'],
  ['email', 'email'],
];

interface AccountRow {
  id: string;
  freelancer_id: string;
  kind: AccountKind;
  institution: string;
  iban: string;
  title: string;
  currency: string;
  is_default: boolean;
  created_at: Date;
}

/** What the payout pipeline needs to know of a freelancer. */
export interface PayeeProfile {
  freelancerId: string;
  name: string;
  cnic: string;
  ntn: string | null;
  psebRegistrationNo: string | null;
  account: { id: string; kind: AccountKind; iban: string; institution: string; title: string } | null;
}

@Injectable()
export class FreelancersService {
  constructor(
    private readonly db: DataSource,
    private readonly keys: IdempotencyService,
  ) {}

  /** With a held Idempotency-Key, the freelancer and the key's answer commit together. */
  async create(
    partnerId: string,
    dto: CreateFreelancerDto,
    hold: IdempotencyHold | null = null,
  ): Promise<FreelancerDto> {
    if (!hold) return this.insertFreelancer(this.db.manager, partnerId, dto);
    return this.db.transaction(async (tx) => {
      const created = await this.insertFreelancer(tx, partnerId, dto);
      await this.keys.completeIn(tx, hold, created);
      return created;
    });
  }

  private async insertFreelancer(
    manager: EntityManager,
    partnerId: string,
    dto: CreateFreelancerDto,
  ): Promise<FreelancerDto> {
    const rows: FreelancerRow[] = await manager.query(
      `INSERT INTO freelancers (partner_id, external_ref, name, cnic, ntn, pseb_registration_no, email)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (partner_id, external_ref) DO NOTHING
       RETURNING *`,
      [
        partnerId,
        dto.externalRef,
        dto.name,
        dto.cnic,
        dto.ntn ?? null,
        dto.psebRegistrationNo ?? null,
        dto.email ?? null,
      ],
    );
    if (!rows.length) {
      throw Problems.conflict(`A freelancer with externalRef "${dto.externalRef}" already exists.`, [
        { field: 'externalRef', message: 'is already registered for this partner' },
      ]);
    }
    return toFreelancerDto(rows[0], []);
  }

  /**
   * Changes the fields the body names and keeps the others, as a JSON merge patch: `null` clears an optional
   * field (a PSEB registration that lapsed must stop printing), and the name, which every invoice prints, cannot
   * be cleared. A body that names none answers 400. Payouts routed from now on print the new details.
   */
  async update(partnerId: string, id: string, dto: UpdateFreelancerDto): Promise<FreelancerDto> {
    // Validation lets null through for an optional field; here it means "clear it".
    const given = dto as Record<keyof UpdateFreelancerDto, string | null | undefined>;
    if (given.name === null) {
      throw Problems.validation([
        { field: 'name', message: 'name cannot be cleared: every invoice prints it' },
      ]);
    }
    const changes = UPDATABLE.filter(([field]) => given[field] !== undefined);
    if (!changes.length) {
      throw Problems.validation([
        {
          field: 'body',
          message: `name at least one field to change (${UPDATABLE.map(([f]) => f).join(', ')})`,
        },
      ]);
    }
    const params: unknown[] = [id, partnerId];
    const sets = changes.map(([field, column]) => {
      params.push(given[field]);
      return `${column} = $${params.length}`;
    });
    // An UPDATE answers [rows, count] through TypeORM.
    const [rows]: [FreelancerRow[], number] = await this.db.query(
      `UPDATE freelancers SET ${sets.join(', ')} WHERE id = $1 AND partner_id = $2 RETURNING *`,
      params,
    );
    if (!rows.length) throw Problems.notFound('Freelancer');
    return this.get(partnerId, id);
  }

  async get(partnerId: string, id: string): Promise<FreelancerDto> {
    const row = await this.findRow(this.db.manager, partnerId, id);
    return toFreelancerDto(row, await this.openAccounts([id]));
  }

  async list(partnerId: string, query: FreelancerQuery): Promise<FreelancerPageDto> {
    const params: unknown[] = [partnerId];
    let where = `partner_id = $1`;
    if (query.externalRef !== undefined) {
      params.push(query.externalRef);
      where += ` AND external_ref = $${params.length}`;
    }
    const rows: FreelancerRow[] = await this.db.query(
      `SELECT * FROM freelancers WHERE ${where}${pageClause(query, params)}`,
      params,
    );
    const accounts = await this.openAccounts(rows.map((r) => r.id));
    return toPage(rows, query, (row) =>
      toFreelancerDto(
        row,
        accounts.filter((a) => a.freelancer_id === row.id),
      ),
    );
  }

  /**
   * With a held Idempotency-Key, the account and the key's answer commit together. The first account is the
   * default; a later one becomes it with `isDefault: true`, in the same transaction as the old one steps down.
   */
  async addAccount(
    partnerId: string,
    freelancerId: string,
    dto: CreateAccountDto,
    hold: IdempotencyHold | null = null,
  ): Promise<DollarAccountDto> {
    const problem = ibanProblem(dto.iban);
    if (problem) throw Problems.validation([{ field: 'iban', message: `iban ${problem}` }]);
    return this.db.transaction(async (tx) => {
      // The freelancer's row, locked, orders concurrent additions: the second of two with one IBAN sees the first.
      await this.findRow(tx, partnerId, freelancerId, true);
      const iban = normalizeIban(dto.iban);
      const [existing]: { n: number; same_iban: string | null }[] = await tx.query(
        `SELECT count(*)::int AS n, (array_agg(id) FILTER (WHERE iban = $2))[1] AS same_iban
         FROM dollar_accounts WHERE freelancer_id = $1 AND closed_at IS NULL`,
        [freelancerId, iban],
      );
      if (existing.same_iban) {
        throw Problems.conflict(
          `The freelancer already has the account ${existing.same_iban} with this IBAN.`,
          [{ field: 'iban', message: 'the freelancer already has an account with this IBAN' }],
        );
      }
      const isDefault = existing.n === 0 || dto.isDefault === true;
      if (isDefault) await this.stepDownDefault(tx, freelancerId);
      const [row]: AccountRow[] = await tx.query(
        `INSERT INTO dollar_accounts (freelancer_id, kind, institution, iban, title, is_default)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING *`,
        [freelancerId, dto.kind, dto.institution, iban, dto.title, isDefault],
      );
      const created = toAccountDto(row);
      await this.keys.completeIn(tx, hold, created);
      return created;
    });
  }

  /**
   * Makes one of the freelancer's accounts the default: payouts routed from now on go to it. A payout already
   * routed keeps the account it was routed for (its route was chosen for that account's kind). Making the
   * default the default again changes nothing and answers the same.
   */
  async makeDefault(
    partnerId: string,
    freelancerId: string,
    accountId: string,
    hold: IdempotencyHold | null = null,
  ): Promise<DollarAccountDto> {
    return this.db.transaction(async (tx) => {
      await this.findRow(tx, partnerId, freelancerId, true);
      const [account]: AccountRow[] = await tx.query(
        `SELECT * FROM dollar_accounts WHERE id = $1 AND freelancer_id = $2 AND closed_at IS NULL`,
        [accountId, freelancerId],
      );
      if (!account) throw Problems.notFound('Dollar account');
      let row = account;
      if (!account.is_default) {
        await this.stepDownDefault(tx, freelancerId);
        // An UPDATE answers [rows, count] through TypeORM.
        const [updated]: [AccountRow[], number] = await tx.query(
          `UPDATE dollar_accounts SET is_default = true WHERE id = $1 RETURNING *`,
          [accountId],
        );
        row = updated[0];
      }
      const answer = toAccountDto(row);
      await this.keys.completeIn(tx, hold, answer);
      return answer;
    });
  }

  /**
   * Closes one of the freelancer's accounts (the freelancer left that bank): it leaves the freelancer's accounts,
   * cannot become the default again, and its IBAN may be added anew. The row stays, for the payouts and invoices
   * that name it. The default is not closed (another account becomes the default first), nor an account payouts
   * are still on their way to: each was routed for that account and its failovers would go there too.
   */
  async closeAccount(partnerId: string, freelancerId: string, accountId: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      await this.findRow(tx, partnerId, freelancerId, true);
      // The account's row lock comes before the count: a routing that chose this account holds a share lock on it
      // until it commits (payout-pipeline.service.ts), so the count, a later statement, sees that payout.
      const [closed]: [{ id: string }[], number] = await tx.query(
        `UPDATE dollar_accounts SET closed_at = now()
         WHERE id = $1 AND freelancer_id = $2 AND closed_at IS NULL AND NOT is_default RETURNING id`,
        [accountId, freelancerId],
      );
      if (!closed.length) {
        const [open] = await tx.query(
          `SELECT 1 FROM dollar_accounts WHERE id = $1 AND freelancer_id = $2 AND closed_at IS NULL`,
          [accountId, freelancerId],
        );
        if (!open) throw Problems.notFound('Dollar account');
        throw Problems.conflict(
          `Account ${accountId} is the freelancer's default; make another account the default before closing it.`,
        );
      }
      const [{ in_flight: inFlight }]: { in_flight: number }[] = await tx.query(
        `SELECT count(*)::int AS in_flight FROM payouts
         WHERE freelancer_id = $1 AND account_id = $2 AND status IN ('routed', 'sending')`,
        [freelancerId, accountId],
      );
      if (inFlight > 0) {
        throw Problems.conflict(
          `${inFlight} payout(s) routed to account ${accountId} are still on their way to it; close it once they have settled or failed.`,
        );
      }
    });
  }

  /** The freelancers' accounts that are not closed, oldest first. */
  private async openAccounts(freelancerIds: string[]): Promise<AccountRow[]> {
    if (!freelancerIds.length) return [];
    return this.db.query(
      `SELECT * FROM dollar_accounts WHERE freelancer_id = ANY($1::uuid[]) AND closed_at IS NULL
       ORDER BY created_at, id`,
      [freelancerIds],
    );
  }

  /**
   * A statement of its own before the new default is set: the one-default index is checked row by row, so one
   * UPDATE that turns one flag off and another on may meet the new default before the old one is gone.
   */
  private async stepDownDefault(tx: EntityManager, freelancerId: string): Promise<void> {
    await tx.query(`UPDATE dollar_accounts SET is_default = false WHERE freelancer_id = $1 AND is_default`, [
      freelancerId,
    ]);
  }

  /** Finds a partner's freelancer by its external reference, with the default dollar account. */
  async findPayeeByRef(partnerId: string, externalRef: string): Promise<PayeeProfile | null> {
    return this.findPayee(partnerId, 'external_ref', externalRef);
  }

  /**
   * The freelancer with the account a payout was routed for (`accountId`), which stays its account when the
   * default changes later.
   */
  async payee(partnerId: string, freelancerId: string, accountId: string): Promise<PayeeProfile> {
    const payee = await this.findPayee(partnerId, 'id', freelancerId, accountId);
    if (!payee) throw Problems.notFound('Freelancer');
    return payee;
  }

  /**
   * A partner's freelancer found by id or external reference in one query, with one dollar account: the one
   * given, else the default.
   */
  private async findPayee(
    partnerId: string,
    by: 'id' | 'external_ref',
    value: string,
    accountId?: string,
  ): Promise<PayeeProfile | null> {
    const rows = await this.db.query(
      `SELECT f.*, a.id AS account_id, a.kind, a.iban, a.institution, a.title
       FROM freelancers f LEFT JOIN dollar_accounts a ON a.freelancer_id = f.id
         AND ${accountId === undefined ? 'a.is_default' : 'a.id = $3'}
       WHERE f.partner_id = $1 AND f.${by} = $2`,
      accountId === undefined ? [partnerId, value] : [partnerId, value, accountId],
    );
    if (!rows.length) return null;
    const r = rows[0];
    return {
      freelancerId: r.id,
      name: r.name,
      cnic: r.cnic,
      ntn: r.ntn,
      psebRegistrationNo: r.pseb_registration_no,
      account: r.account_id
        ? { id: r.account_id, kind: r.kind, iban: r.iban, institution: r.institution, title: r.title }
        : null,
    };
  }

  /** Throws 404 unless the freelancer belongs to the partner (another partner's id is not found). */
  async requireOwned(partnerId: string, freelancerId: string): Promise<void> {
    await this.findRow(this.db.manager, partnerId, freelancerId);
  }

  /**
   * With `lock`, the row is held against every other change of the freelancer's accounts until commit. FOR NO KEY
   * UPDATE, not FOR UPDATE: a routing's foreign-key check takes a key-share lock on this row while it holds a share
   * lock on the account it routes to, which the account changes wait for; FOR UPDATE would make that a deadlock.
   */
  private async findRow(
    manager: EntityManager,
    partnerId: string,
    id: string,
    lock = false,
  ): Promise<FreelancerRow> {
    const rows: FreelancerRow[] = await manager.query(
      `SELECT * FROM freelancers WHERE id = $1 AND partner_id = $2${lock ? ' FOR NO KEY UPDATE' : ''}`,
      [id, partnerId],
    );
    if (!rows.length) throw Problems.notFound('Freelancer');
    return rows[0];
  }
}

function toAccountDto(row: AccountRow): DollarAccountDto {
  return {
    id: row.id,
    freelancerId: row.freelancer_id,
    kind: row.kind,
    institution: row.institution,
    iban: row.iban,
    title: row.title,
    currency: row.currency,
    isDefault: row.is_default,
    createdAt: row.created_at.toISOString(),
  };
}

function toFreelancerDto(row: FreelancerRow, accounts: AccountRow[]): FreelancerDto {
  return {
    id: row.id,
    externalRef: row.external_ref,
    name: row.name,
    cnic: row.cnic,
    ntn: row.ntn,
    psebRegistrationNo: row.pseb_registration_no,
    email: row.email,
    accounts: accounts.map(toAccountDto),
    createdAt: row.created_at.toISOString(),
  };
}
