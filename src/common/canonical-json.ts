/**
 * RFC 8785 (JCS) canonical JSON for the values this service produces: objects with keys sorted by
 * UTF-16 code units, no insignificant whitespace, strings escaped as JSON.stringify does (which matches
 * JCS), numbers in ECMAScript form. Undefined members are dropped, as JSON does.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'boolean') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error('canonical JSON cannot hold a non-finite number');
    return JSON.stringify(value);
  }
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value))
    return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  if (typeof value === 'object') {
    const object = value as Record<string, unknown>;
    if (typeof (object as { toJSON?: unknown }).toJSON === 'function') {
      return canonicalJson((object as { toJSON: () => unknown }).toJSON());
    }
    const keys = Object.keys(object)
      .filter((k) => object[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(object[k])}`).join(',')}}`;
  }
  throw new Error(`canonical JSON cannot hold a ${typeof value}`);
}
