import { ExportStatus } from './invoice-view';

const STATUS_LABELS: Record<ExportStatus, string> = {
  awaiting_proceeds: 'Awaiting proceeds',
  proceeds_realized: 'Proceeds realized',
  proceeds_failed: 'Proceeds failed',
  prc_issued: 'e-PRC issued',
};

export function statusLabel(status: ExportStatus): string {
  return STATUS_LABELS[status];
}

/** "1250.00" → "1,250.00": grouping done on the decimal string, so no number ever holds the amount. */
export function groupThousands(amount: string): string {
  const negative = amount.startsWith('-');
  const [whole, fraction] = (negative ? amount.slice(1) : amount).split('.');
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${negative ? '-' : ''}${grouped}${fraction === undefined ? '' : `.${fraction}`}`;
}

const REGIONS = new Intl.DisplayNames(['en'], { type: 'region' });

/** "US" → "United States (US)"; a code the runtime does not know stays as it is. */
export function countryName(code: string): string {
  try {
    const name = REGIONS.of(code);
    return name && name !== code ? `${name} (${code})` : code;
  } catch {
    return code;
  }
}

/** "2026-11-21T10:00:00.000Z" → "2026-11-21 10:00 UTC". */
export function utcMinute(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

// The 32 characters Windows-1252 puts in 0x80–0x9F; with Latin-1 they are what the PDF standard fonts can show.
const WIN_ANSI_EXTRA = new Set('€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ');

function isWinAnsi(char: string): boolean {
  const code = char.codePointAt(0)!;
  return (code >= 0x20 && code <= 0x7e) || (code >= 0xa0 && code <= 0xff) || WIN_ANSI_EXTRA.has(char);
}

/**
 * Text for a font that draws only the characters `covers` accepts: an accent the font lacks is dropped
 * ("Ștefan" → "Stefan" in Windows-1252), anything else it cannot draw becomes "?". The JSON and UBL keep the
 * exact text.
 */
export function fitText(text: string, covers: (char: string) => boolean): string {
  let out = '';
  // Composed first ("u" + combining diaeresis is "ü", which a font may have); a line break or tab is a space.
  for (const char of text.normalize('NFC').replace(/[\t\n\r]+/g, ' ')) {
    if (covers(char)) {
      out += char;
      continue;
    }
    const base = char.normalize('NFKD').replace(/\p{M}/gu, '');
    out += base.length > 0 && [...base].every(covers) ? base : '?';
  }
  return out;
}

/** Text for the PDF's standard fonts, which cover Windows-1252 only. */
export function toWinAnsi(text: string): string {
  return fitText(text, isWinAnsi);
}
