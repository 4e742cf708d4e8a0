import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Problems } from '../common/problem';
import { FreelancersService } from '../freelancers/freelancers.service';
import { formatAmount, ZERO } from '../money/money';
import {
  FreelancerBalanceDto,
  LedgerEntriesQuery,
  LedgerEntryPageDto,
  TrialBalanceDto,
} from './dto/ledger.dto';
import { LedgerService } from './ledger.service';

/** The ledger as partners and ops read it: ownership checked, amounts as two-digit strings. */
@Injectable()
export class LedgerReports {
  constructor(
    private readonly ledger: LedgerService,
    private readonly freelancers: FreelancersService,
    private readonly db: DataSource,
  ) {}

  async balance(partnerId: string, freelancerId: string): Promise<FreelancerBalanceDto> {
    await this.freelancers.requireOwned(partnerId, freelancerId);
    const balance = await this.ledger.freelancerBalance(freelancerId);
    return {
      currency: balance.currency,
      settled: formatAmount(balance.settled),
      inTransit: formatAmount(balance.inTransit),
      returned: formatAmount(balance.returned),
    };
  }

  async entries(partnerId: string, query: LedgerEntriesQuery): Promise<LedgerEntryPageDto> {
    const payoutId = query.payoutId.toLowerCase();
    const owned = await this.db.query(`SELECT 1 FROM payouts WHERE id = $1 AND partner_id = $2`, [
      payoutId,
      partnerId,
    ]);
    if (!owned.length) throw Problems.notFound('Payout');
    const limit = query.limit ?? 20;
    const page = await this.ledger.entryPage(payoutId, decodeSeqCursor(query.cursor), limit);
    return {
      data: page.entries,
      nextCursor: page.more && page.lastSeq ? Buffer.from(`seq:${page.lastSeq}`).toString('base64url') : null,
    };
  }

  async trialBalance(): Promise<TrialBalanceDto> {
    const rows = await this.ledger.trialBalance();
    const usd = rows.some((r) => r.currency === 'USD')
      ? []
      : [{ currency: 'USD', debits: ZERO, credits: ZERO }];
    return {
      currencies: [...usd, ...rows].map((r) => ({
        currency: r.currency,
        debits: formatAmount(r.debits),
        credits: formatAmount(r.credits),
      })),
    };
  }
}

/** Entries page by their posting order; the cursor is the last sequence number seen. */
function decodeSeqCursor(cursor: string | undefined): string | null {
  if (cursor === undefined) return null;
  const match = /^seq:(\d{1,18})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match)
    throw Problems.validation([{ field: 'cursor', message: 'cursor is not one this service issued' }]);
  return match[1];
}
