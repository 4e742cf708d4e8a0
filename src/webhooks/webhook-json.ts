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
