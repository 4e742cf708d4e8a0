import sjson from 'secure-json-parse';

/** JSON text is UTF-8 (RFC 8259): bytes that are not are refused as not JSON, never read as U+FFFD. */
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * A platform's signed event is taken whatever keys it holds (a refusal would be retried forever): a `__proto__`
 * key, or `constructor.prototype`, is dropped as it is read, and the raw body keeps it.
 */
const WEBHOOK_JSON = { protoAction: 'remove', constructorAction: 'remove' } as const;

const INTEGER_LITERAL = /^-?\d+$/;
/** A number as JSON writes it (RFC 8259): only such a token is replaced, so text that is not JSON stays so. */
const JSON_NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;
/** What an inexact number is read as (Infinity): a number, so a field that wants text refuses it, and no integer. */
const INEXACT = '1e999';

/** Whether the character at `i` may continue a number token: a digit, `+`, `-`, `.`, `e` or `E`. */
function inNumber(text: string, i: number): boolean {
  const c = text.charCodeAt(i);
  return (c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2d || c === 0x2e || c === 0x65 || c === 0x45;
}

/**
 * A number of a platform's event written as anything but an integer literal (`125000.0000000000001`, `1e5`) is read
 * as Infinity: a double would round it, and it could then pass for the integer Stripe's cents must be. Infinity is
 * no integer and no text, so every field refuses it (a text field as it refuses any number, Stripe's amount as not
 * integer cents). One pass over the text, outside strings, without recursion (a reviver overflows the stack on a
 * value nested some thousands deep, and costs several times the parse on a large body, which is read before its
 * signature is checked).
 */
function withInexactNumbersReplaced(text: string): string {
  let out = '';
  let copied = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const end = endOfString(text, i);
      // An unterminated string: the text is not JSON, and JSON.parse says so.
      if (end < 0) return text;
      i = end;
      continue;
    }
    if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      let end = i + 1;
      while (end < text.length && inNumber(text, end)) end += 1;
      const token = text.slice(i, end);
      if (!INTEGER_LITERAL.test(token) && JSON_NUMBER.test(token)) {
        out += text.slice(copied, i) + INEXACT;
        copied = end;
      }
      i = end - 1;
    }
  }
  return copied === 0 ? text : out + text.slice(copied);
}

function parseWebhookJson(text: string): unknown {
  return sjson.parse(withInexactNumbersReplaced(text), null, WEBHOOK_JSON);
}

/** A key an API body holds twice in one object: JSON.parse would keep the last and silently drop the other. */
export class RepeatedKeyError extends SyntaxError {
  constructor(readonly field: string) {
    super(`The key ${field} appears twice in one object.`);
  }
}

export const REPEATED_KEY_MESSAGE = 'appears more than once in its object; each key may be given once';

/**
 * Reads a JSON body: strictly for the API (a prototype key, or a key given twice in one object, throws),
 * leniently for a platform's webhook.
 */
export function parseJsonBody(body: Buffer, webhook: boolean): unknown {
  const text = UTF8.decode(body);
  if (body.length === 0) return undefined;
  const value: unknown = webhook ? parseWebhookJson(text) : sjson.parse(text, null, {});
  if (!webhook && value !== null && typeof value === 'object') {
    const field = repeatedKey(text);
    if (field !== null) throw new RepeatedKeyError(field);
  }
  return value;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;

/** An object or array of the text being read: its keys so far (null for an array), and its name in its parent. */
interface Scope {
  keys: Set<string> | null;
  /** An object's next string is a key; an array counts its items. */
  expectKey: boolean;
  index: number;
  lastKey: string;
  name: string;
  parent: Scope | null;
}

/** The index of the quote that ends the string whose opening quote is at `start`, or -1 when none does. */
function endOfString(text: string, start: number): number {
  for (let from = start + 1; ;) {
    const quote = text.indexOf('"', from);
    if (quote < 0) return -1;
    let backslashes = 0;
    while (text.charCodeAt(quote - 1 - backslashes) === BACKSLASH) backslashes += 1;
    if (backslashes % 2 === 0) return quote;
    from = quote + 1;
  }
}

/**
 * The first key that `text`, already known to be valid JSON, holds twice in one object (`"a"` and `"\u0061"`
 * are the same key), named from the root as validation names fields (`client.name`, `items.0.amount`); null when
 * every key is unique. One pass over the text, without building anything for a body that has none.
 */
export function repeatedKey(text: string): string | null {
  let top: Scope | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const end = endOfString(text, i);
      if (top?.keys && top.expectKey) {
        const raw = text.slice(i, end + 1);
        const key = raw.includes('\\') ? (JSON.parse(raw) as string) : raw.slice(1, -1);
        if (top.keys.has(key)) return nameOf(top, key);
        top.keys.add(key);
        top.lastKey = key;
        top.expectKey = false;
      }
      i = end;
    } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      const name: string = top === null ? '' : top.keys ? top.lastKey : String(top.index);
      top = {
        keys: c === OPEN_OBJECT ? new Set() : null,
        expectKey: true,
        index: 0,
        lastKey: '',
        name,
        parent: top,
      };
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      top = top!.parent;
    } else if (c === COMMA) {
      if (top!.keys) top!.expectKey = true;
      else top!.index += 1;
    }
  }
  return null;
}

function nameOf(scope: Scope, key: string): string {
  const names = [key];
  for (let s: Scope | null = scope; s && s.parent; s = s.parent) names.unshift(s.name);
  return names.join('.');
}

/** What secure-json-parse throws for a `__proto__` key, or a `constructor` key holding `prototype`. */
const FORBIDDEN_PROTOTYPE = 'Object contains forbidden prototype property';

export const FORBIDDEN_PROTOTYPE_MESSAGE =
  'must not contain a "__proto__" key, nor a "constructor" key whose object has a "prototype" key';

/** Whether parseJsonBody refused valid JSON for a key that could change every object's prototype. */
export function isForbiddenPrototype(error: unknown): boolean {
  return error instanceof SyntaxError && error.message === FORBIDDEN_PROTOTYPE;
}
