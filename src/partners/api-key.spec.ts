import {
  API_KEY_PATTERN,
  apiKeyHint,
  authorizationSentTwice,
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

  it('hashes deterministically', () => {
    const key = generateApiKey();
    expect(hashApiKey(key).equals(hashApiKey(key))).toBe(true);
  });

  it('hints with the first four and last four random characters only, never the middle of the key', () => {
    // A middle of one repeated letter found nowhere else: any of it in the hint would show.
    const key = `pk_abcd${'M'.repeat(35)}wxyz`;
    expect(key).toMatch(API_KEY_PATTERN);
    expect(apiKeyHint(key)).toBe('pk_abcd…wxyz');
    expect(apiKeyHint(generateApiKey())).toMatch(/^pk_[A-Za-z0-9_-]{4}…[A-Za-z0-9_-]{4}$/);
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

describe(authorizationSentTwice.name, () => {
  it('finds a second Authorization line, however it is spelled, among the raw headers', () => {
    expect(authorizationSentTwice(['Host', 'x', 'Authorization', 'Bearer a'])).toBe(false);
    expect(authorizationSentTwice(['Host', 'x'])).toBe(false);
    expect(
      authorizationSentTwice(['Authorization', 'Bearer a', 'Host', 'x', 'authorization', 'Bearer b']),
    ).toBe(true);
    expect(authorizationSentTwice(['AUTHORIZATION', 'Bearer a', 'Authorization', 'Bearer a'])).toBe(true);
    // Values are not names: a header whose value reads "Authorization" is not a second line.
    expect(authorizationSentTwice(['Authorization', 'Bearer a', 'X-Note', 'Authorization'])).toBe(false);
  });
});
