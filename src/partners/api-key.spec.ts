import {
  API_KEY_PATTERN,
  apiKeyHint,
  bearerToken,
  constantTimeEquals,
  generateApiKey,
  hashApiKey,
} from './api-key';

describe('api keys', () => {
  it('generates pk_ keys of 32 random bytes that differ every time', () => {
    const a = generateApiKey();
    const b = generateApiKey();
    expect(a).toMatch(API_KEY_PATTERN);
    expect(Buffer.from(a.slice(3), 'base64url')).toHaveLength(32);
    expect(a).not.toBe(b);
  });

  it('hashes deterministically and hints without revealing the key', () => {
    const key = generateApiKey();
    expect(hashApiKey(key).equals(hashApiKey(key))).toBe(true);
    expect(apiKeyHint(key)).toHaveLength(12);
    expect(key.includes(apiKeyHint(key).slice(7, 8) + 'x'.repeat(40))).toBe(false);
  });

  it('compares tokens of different lengths without throwing', () => {
    expect(constantTimeEquals('abc', 'abc')).toBe(true);
    expect(constantTimeEquals('abc', 'abcd')).toBe(false);
  });

  it.each([
    ['Bearer pk_x', 'pk_x'],
    ['bearer pk_x', 'pk_x'],
    ['BEARER  pk_x', 'pk_x'],
    ['Bearer pk_x extra', null],
    ['Bearerpk_x', null],
    ['Bearer', null],
    ['Basic abc', null],
    [undefined, null],
  ])('reads the bearer token of %p', (header, expected) => {
    expect(bearerToken(header)).toBe(expected);
  });
});
