import { create, Font } from 'fontkit';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The files looked for in the font directory (Debian's `fonts-dejavu-core` puts them in /usr/share/fonts/truetype/dejavu). */
export const INVOICE_FONT_FILES = { regular: 'DejaVuSans.ttf', bold: 'DejaVuSans-Bold.ttf' } as const;

/**
 * A Unicode typeface for the invoice PDF, parsed once: parsing DejaVu Sans for every document made a render four
 * times slower. pdfkit takes a parsed font as it takes a file (its types only list files).
 */
export interface InvoiceFonts {
  regular: Font;
  bold: Font;
  /** Whether both faces can draw the character. */
  covers(char: string): boolean;
}

/** Reads the regular and bold faces from `dir`; throws when either is missing or is not a font. */
export function loadInvoiceFonts(dir: string): InvoiceFonts {
  const regular = create(readFileSync(join(dir, INVOICE_FONT_FILES.regular)));
  const bold = create(readFileSync(join(dir, INVOICE_FONT_FILES.bold)));
  return {
    regular,
    bold,
    covers: (char) => [regular, bold].every((face) => face.hasGlyphForCodePoint(char.codePointAt(0)!)),
  };
}
