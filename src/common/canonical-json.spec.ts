import { canonicalJson } from './canonical-json';

/** Checks against the rules of RFC 8785 (JCS) for the kinds of values this service signs. */
describe(canonicalJson.name, () => {
  it('sorts keys at every level and drops insignificant whitespace', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: true, y: null }], c: 'x' } })).toBe(
      '{"a":{"c":"x","d":[3,{"y":null,"z":true}]},"b":1}',
    );
  });

  it('orders keys by UTF-16 code units, not by code points or locale', () => {
    // RFC 8785 §3.2.3: a supplementary character (a surrogate pair, 0xD83D…) sorts before U+FB33.
    const object = {
      '\u20ac': 'Euro',
      '\r': 'CR',
      '\ufb33': 'Hebrew',
      '1': 'One',
      '\u{1f600}': 'Emoji',
      '\u0080': 'Control',
      '\u00f6': 'o-umlaut',
    };
    // Keys are compared as text: JSON.parse would move the integer-like key "1" first.
    expect(canonicalJson(object)).toBe(
      '{"\\r":"CR","1":"One","\u0080":"Control","\u00f6":"o-umlaut","\u20ac":"Euro","\u{1f600}":"Emoji","\ufb33":"Hebrew"}',
    );
  });

  it('escapes strings as JCS requires: short escapes, lower-case \\u00XX for other controls, the rest literal', () => {
    expect(canonicalJson('\u20ac$\u000f\nA\'B"\\\\"/')).toBe('"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"');
    expect(canonicalJson('\b\f\n\r\t\u0000\u001f')).toBe('"\\b\\f\\n\\r\\t\\u0000\\u001f"');
    expect(canonicalJson('\u007f\u2028\u2029é😀')).toBe('"\u007f\u2028\u2029é😀"');
  });

  it('serializes literals and numbers in their ECMAScript form', () => {
    expect(canonicalJson([null, true, false])).toBe('[null,true,false]');
    expect(canonicalJson([333333333.33333329, 1e30, 4.5, 0.002, 1e-27, -0, 100])).toBe(
      '[333333333.3333333,1e+30,4.5,0.002,1e-27,0,100]',
    );
    expect(() => canonicalJson(Number.NaN)).toThrow();
    expect(() => canonicalJson(Number.POSITIVE_INFINITY)).toThrow();
  });

  it('keeps amounts exact because they are strings', () => {
    expect(canonicalJson({ gross: '1250.00', amount: '0.10' })).toBe('{"amount":"0.10","gross":"1250.00"}');
  });

  it('drops undefined members and keeps empty containers', () => {
    expect(canonicalJson({ a: undefined, b: [], c: {} })).toBe('{"b":[],"c":{}}');
  });

  it('is stable whatever the insertion order', () => {
    expect(canonicalJson({ x: 1, y: { b: 2, a: 1 } })).toBe(canonicalJson({ y: { a: 1, b: 2 }, x: 1 }));
  });
});
