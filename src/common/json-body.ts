import sjson from 'secure-json-parse';

/** JSON text is UTF-8 (RFC 8259): bytes that are not are refused as not JSON, never read as U+FFFD. */
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * A platform's signed event is taken whatever keys it holds (a refusal would be retried forever): a `__proto__`
 * key, or `constructor.prototype`, is dropped as it is read, and the raw body keeps it.
 */
const WEBHOOK_JSON = { protoAction: 'remove', constructorAction: 'remove' } as const;

/** Reads a JSON body: strictly for the API (a prototype key throws), leniently for a platform's webhook. */
export function parseJsonBody(body: Buffer, webhook: boolean): unknown {
  const text = UTF8.decode(body);
  return body.length === 0 ? undefined : sjson.parse(text, null, webhook ? WEBHOOK_JSON : {});
}

/** What secure-json-parse throws for a `__proto__` key, or a `constructor` key holding `prototype`. */
const FORBIDDEN_PROTOTYPE = 'Object contains forbidden prototype property';

export const FORBIDDEN_PROTOTYPE_MESSAGE =
  'must not contain a "__proto__" key, nor a "constructor" key whose object has a "prototype" key';

/** Whether parseJsonBody refused valid JSON for a key that could change every object's prototype. */
export function isForbiddenPrototype(error: unknown): boolean {
  return error instanceof SyntaxError && error.message === FORBIDDEN_PROTOTYPE;
}
