import { parseJsonBody, RepeatedKeyError, repeatedKey } from './json-body';

describe(repeatedKey.name, () => {
  it.each([
    '{}',
    '[]',
    '{"a":1,"b":{"a":2},"c":[{"a":3},{"a":4}]}',
    '{"a":"\\"a\\":","b":"{\\"a\\":1,\\"a\\":2}"}',
    '{"a\\\\":1,"a":2}',
    '[{"a":1},{"a":1}]',
    '{ "amount" : "1.00" ,\n "currency" : "USD" }',
  ])('finds no key twice in %s', (text) => {
    JSON.parse(text);
    expect(repeatedKey(text)).toBeNull();
  });

  it.each([
    ['{"a":1,"a":2}', 'a'],
    ['{"a":1,"\\u0061":2}', 'a'],
    ['{"client":{"name":"A","country":"US","name":"B"}}', 'client.name'],
    ['{"items":[{"x":1},{"x":1,"y":2,"x":3}]}', 'items.1.x'],
    ['[[1],[2,{"k":{},"k":[]}]]', '1.1.k'],
    ['{"a":"x\\\\","b":[],"a":{}}', 'a'],
    ['{"":1,"":2}', ''],
  ])('names the first key given twice in %s', (text, field) => {
    JSON.parse(text);
    expect(repeatedKey(text)).toBe(field);
  });
});

describe(parseJsonBody.name, () => {
  it('refuses a key given twice in an API body, and takes it in a webhook (the platform signed those bytes)', () => {
    const body = Buffer.from('{"grossAmount":"10.00","grossAmount":"9000.00"}');
    expect(() => parseJsonBody(body, false)).toThrow(RepeatedKeyError);
    expect(() => parseJsonBody(body, false)).toThrow(expect.objectContaining({ field: 'grossAmount' }));
    expect(parseJsonBody(body, true)).toEqual({ grossAmount: '9000.00' });
    expect(parseJsonBody(Buffer.from('{"grossAmount":"10.00"}'), false)).toEqual({ grossAmount: '10.00' });
  });

  it('reads a webhook number written as anything but an integer as Infinity: no integer, and no text', () => {
    const body = Buffer.from(
      '{"a":125000.0000000000001,"b":[1e5,-7,0.5],"c":125000,"d":-0,"e":"1.5 \\" 2.5"}',
    );
    expect(parseJsonBody(body, true)).toEqual({
      a: Infinity,
      b: [Infinity, -7, Infinity],
      c: 125000,
      d: -0,
      e: '1.5 " 2.5',
    });
    expect(parseJsonBody(body, false)).toEqual({
      a: 125000,
      b: [100000, -7, 0.5],
      c: 125000,
      d: -0,
      e: '1.5 " 2.5',
    });
  });

  it('reads a deeply nested webhook body, and leaves text that is not JSON refused', () => {
    const deep = `{"amount":1.5,"x":${'['.repeat(5000)}${']'.repeat(5000)}}`;
    expect((parseJsonBody(Buffer.from(deep), true) as { amount: number }).amount).toBe(Infinity);
    for (const text of ['{"a":1.2.3}', '{"a":01.5}', '{"a":"1.5}', '{"a":-}', '{"a":1.}'])
      expect(() => parseJsonBody(Buffer.from(text), true)).toThrow(SyntaxError);
  });
});
