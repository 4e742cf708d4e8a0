import { jsonBodyProblem, MAX_JSON_DEPTH } from './create-app';

describe(jsonBodyProblem.name, () => {
  const nested = (levels: number): unknown => (levels === 1 ? {} : { a: nested(levels - 1) });

  it('lets an ordinary body through, and one exactly MAX_JSON_DEPTH deep', () => {
    expect(jsonBodyProblem({ name: 'Ayesha', tags: ['a', 'b'], client: { country: 'US' } })).toBeNull();
    expect(jsonBodyProblem(nested(MAX_JSON_DEPTH))).toBeNull();
    expect(jsonBodyProblem([0, 1, null, true, 'x'])).toBeNull();
  });

  it('refuses one level deeper, naming the body', () => {
    expect(jsonBodyProblem(nested(MAX_JSON_DEPTH + 1))).toEqual({
      field: 'body',
      message: `must not nest deeper than ${MAX_JSON_DEPTH} levels`,
    });
  });

  it.each([
    ['a top-level string', 'a\u0000', 'body'],
    ['a field', { name: 'a\u0000b' }, 'name'],
    ['a nested field', { client: { name: 'x\u0000' } }, 'client.name'],
    ['an array item', { items: ['ok', { note: 'x\u0000' }] }, 'items.1.note'],
    ['a key', { client: { 'na\u0000me': 'x' } }, 'client'],
  ])('names %s holding U+0000', (_label, body, field) => {
    expect(jsonBodyProblem(body)).toEqual({ field, message: 'must not contain the NUL character' });
  });

  it.each([
    ['a field', { email: '\ud800' }, 'email'],
    ['a field with a lone low surrogate', { name: 'N\udc00x' }, 'name'],
    ['a key', { client: { ['k\ud83d']: 'x' } }, 'client'],
  ])(
    'names %s holding a lone surrogate, which the database would silently replace',
    (_label, body, field) => {
      expect(jsonBodyProblem(body)).toEqual({ field, message: expect.stringContaining('lone surrogate') });
    },
  );

  it('lets characters outside the BMP through (a surrogate pair is a character)', () => {
    expect(jsonBodyProblem({ name: 'Ayesha \u{1F600} 北京' })).toBeNull();
  });
});

describe('jsonBodyProblem: numbers JSON reads as Infinity', () => {
  it('names a number too large for a double, wherever it is', () => {
    expect(jsonBodyProblem(JSON.parse('{"a":{"b":[1,1e400]}}'))).toEqual({
      field: 'a.b.1',
      message: expect.stringContaining('too large'),
    });
    expect(jsonBodyProblem(JSON.parse('-1e999'))).toEqual({ field: 'body', message: expect.any(String) });
    expect(jsonBodyProblem(JSON.parse('{"a":1.5e308,"b":-0}'))).toBeNull();
  });
});
