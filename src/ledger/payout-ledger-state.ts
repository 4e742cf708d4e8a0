import Decimal from 'decimal.js';
import { PostingLine } from './posting';
import { EntryKinds } from './payout-entries';

/** An entry as stored, with its lines. */
export interface BookedEntry {
  id: string;
  idempotencyKey: string;
  kind: string;
  payoutId: string | null;
  reversesEntryId: string | null;
  lines: PostingLine[];
}

/** What the ledger already holds for one payout: the ground every booking decides on. */
export class PayoutLedgerState {
  private readonly byKey = new Map<string, BookedEntry>();
  private readonly reversed = new Set<string>();

  constructor(readonly entries: BookedEntry[]) {
    for (const entry of entries) {
      this.byKey.set(entry.idempotencyKey, entry);
      if (entry.reversesEntryId) this.reversed.add(entry.reversesEntryId);
    }
  }

  entry(key: string): BookedEntry | undefined {
    return this.byKey.get(key);
  }

  isReversed(entry: BookedEntry): boolean {
    return this.reversed.has(entry.id);
  }

  /** Routing rounds so far; the next one is this plus one. */
  routedRounds(): number {
    return this.ofKind(EntryKinds.routed).length;
  }

  /** The routed entry of the round in force, unless a failure reversed it. */
  openRouted(): BookedEntry | null {
    const routed = this.ofKind(EntryKinds.routed);
    const last = routed[routed.length - 1];
    return last && !this.isReversed(last) ? last : null;
  }

  /** Attempts booked as sent and neither rejected nor failed since. */
  outstandingSent(): BookedEntry[] {
    return this.ofKind(EntryKinds.sent).filter((e) => !this.isReversed(e));
  }

  settled(): BookedEntry[] {
    return this.ofKind(EntryKinds.settled);
  }

  private ofKind(kind: string): BookedEntry[] {
    return this.entries.filter((e) => e.kind === kind);
  }
}

/** The line of an entry on an account of the given type (`platform_receivable`, …). */
export function lineOn(entry: BookedEntry, type: string): PostingLine | undefined {
  return entry.lines.find((l) => l.account.startsWith(`${type}:`));
}

export function amountOn(entry: BookedEntry, type: string): Decimal | undefined {
  return lineOn(entry, type)?.amount;
}
