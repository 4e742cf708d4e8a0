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
