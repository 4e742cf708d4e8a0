/** Postgres text holds neither U+0000 nor a lone UTF-16 surrogate (the pg driver would write U+FFFD instead). */
const LONE_SURROGATE = /\p{Cs}/u;

/** Why a string cannot be stored as it is, as a field-error message; null when it can. */
export function unstorableText(value: string): string | null {
  if (value.includes('\u0000')) return 'must not contain the NUL character';
  if (LONE_SURROGATE.test(value))
    return 'must be well-formed Unicode: a lone surrogate (such as \\ud800) is not a character';
  return null;
}

/** The string with what Postgres cannot store replaced by U+FFFD, for text kept only for people to read. */
export function storableForDisplay(value: string): string {
  return value.replaceAll('\u0000', '\ufffd').replace(/\p{Cs}/gu, '\ufffd');
}

/**
 * C0 control characters other than tab, line feed and carriage return, and the non-characters U+FFFE and U+FFFF:
 * no XML 1.0 document can carry them, even escaped, so the UBL of an invoice could not keep text holding them
 * exactly as its signed JSON does. Text that may be printed on an invoice refuses them.
 */
const UNPRINTABLE = /[\u0001-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/;
const EVERY_UNPRINTABLE = new RegExp(UNPRINTABLE.source, 'g');

export const UNPRINTABLE_MESSAGE = 'must not contain control characters other than tab and line breaks';

/** Why a string cannot be stored or printed on an invoice as it is; null when it can. */
export function unprintableText(value: string): string | null {
  return unstorableText(value) ?? (UNPRINTABLE.test(value) ? UNPRINTABLE_MESSAGE : null);
}

/** The string with what no invoice can print replaced by U+FFFD, for text a sender cannot be asked to correct. */
export function printableText(value: string): string {
  return value.replace(EVERY_UNPRINTABLE, '\ufffd');
}
