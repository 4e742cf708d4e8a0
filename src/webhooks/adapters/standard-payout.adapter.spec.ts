import { storedType } from './payload-reader';
import { StandardPayoutAdapter } from './standard-payout.adapter';

describe(StandardPayoutAdapter.name, () => {
  const sut = new StandardPayoutAdapter();
  const event = (data: Record<string, unknown> = {}, rest: Record<string, unknown> = {}) => ({
    type: 'payout.available',
    timestamp: '2026-11-21T10:00:00Z',
    data: {
      payoutId: 'UPW-PO-000123',
      freelancerRef: 'fl-42',
      amount: '1250.00',
      currency: 'USD',
      client: { name: 'Acme Inc', country: 'US' },
      description: 'Web development, milestone 3',
      serviceCategory: 'software_development',
      ...data,
    },
    ...rest,
  });
  const fields = (payload: unknown) => {
    const result = sut.adapt(payload);
    return result.kind === 'rejected' ? result.errors.map((e) => e.field) : [];
  };

  it('turns the contract example into a payout instruction with a decimal gross', () => {
    const result = sut.adapt(event());
    expect(result.kind).toBe('payout');
    if (result.kind !== 'payout') return;
    expect(result.type).toBe('payout.available');
    expect(result.instruction).toEqual({
      platformPayoutId: 'UPW-PO-000123',
      freelancerRef: 'fl-42',
      gross: expect.anything(),
      currency: 'USD',
      client: { name: 'Acme Inc', country: 'US' },
      description: 'Web development, milestone 3',
      serviceCategory: 'software_development',
    });
    expect(result.instruction.gross.toFixed(2)).toBe('1250.00');
  });

  it('ignores types it does not act on', () => {
    expect(sut.adapt({ type: 'payout.cancelled', data: {} })).toEqual({
      kind: 'ignored',
      type: 'payout.cancelled',
    });
  });

  it.each([
    ['zero', { amount: '0.00' }, 'data.amount', /more than zero/],
    ['negative', { amount: '-5.00' }, 'data.amount', /more than zero/],
    ['three decimals', { amount: '10.005' }, 'data.amount', /two fraction digits/],
    ['a JSON number', { amount: 1250 }, 'data.amount', /decimal string/],
    ['over the maximum', { amount: '1000000.01' }, 'data.amount', /at most 1000000\.00/],
    ['non-USD', { currency: 'EUR' }, 'data.currency', /USD/],
    ['lower-case usd', { currency: 'usd' }, 'data.currency', /USD/],
    ['a PK client', { client: { name: 'Local Co', country: 'PK' } }, 'data.client.country', /PK/],
    ['an unknown country', { client: { name: 'X', country: 'XX' } }, 'data.client.country', /ISO 3166/],
    ['a lower-case country', { client: { name: 'X', country: 'us' } }, 'data.client.country', /ISO 3166/],
    ['no client name', { client: { country: 'US' } }, 'data.client.name', /non-empty/],
    ['no client', { client: undefined }, 'data.client', /object/],
    ['an unknown category', { serviceCategory: 'mining' }, 'data.serviceCategory', /one of/],
    ['no payout id', { payoutId: '' }, 'data.payoutId', /non-empty/],
    ['a huge payout id', { payoutId: 'x'.repeat(256) }, 'data.payoutId', /at most 255/],
    ['no freelancer ref', { freelancerRef: undefined }, 'data.freelancerRef', /non-empty/],
    ['no description', { description: '  ' }, 'data.description', /non-empty/],
    ['a NUL in the payout id', { payoutId: 'PO\u00001' }, 'data.payoutId', /NUL/],
    [
      'a lone surrogate in the freelancer ref',
      { freelancerRef: 'fl\ud800' },
      'data.freelancerRef',
      /surrogate/,
    ],
  ])('rejects %s naming the field', (_label, override, field, message) => {
    const result = sut.adapt(event(override));
    expect(result).toEqual({
      kind: 'rejected',
      type: 'payout.available',
      errors: [{ field, message: expect.stringMatching(message) }],
    });
  });

  it('prints what no invoice or database can hold in its texts as U+FFFD, and accepts the payout', () => {
    const result = sut.adapt(
      event({ description: 'a\u0000b\u001bc\td', client: { name: 'X\ud800', country: 'US' } }),
    );
    expect(result).toMatchObject({
      kind: 'payout',
      instruction: { description: 'a\ufffdb\ufffdc\td', client: { name: 'X\ufffd', country: 'US' } },
    });
  });

  it('keeps an identifier exactly as sent, so ids that differ only in a control character stay two', () => {
    const ids = ['PO\u00011', 'PO\u00021'].map((payoutId) => {
      const result = sut.adapt(event({ payoutId, freelancerRef: 'fl\u001f42' }));
      if (result.kind !== 'payout') throw new Error(`expected a payout, got ${result.kind}`);
      expect(result.instruction.freelancerRef).toBe('fl\u001f42');
      return result.instruction.platformPayoutId;
    });
    expect(ids).toEqual(['PO\u00011', 'PO\u00021']);
  });

  it('accepts the boundaries', () => {
    expect(sut.adapt(event({ amount: '0.01' })).kind).toBe('payout');
    expect(sut.adapt(event({ amount: '1000000.00' })).kind).toBe('payout');
    expect(sut.adapt(event({ amount: '3.5' })).kind).toBe('payout');
  });

  it('names every bad field at once', () => {
    expect(fields(event({ amount: '0', currency: 'PKR', client: { name: 'A', country: 'PK' } }))).toEqual([
      'data.amount',
      'data.currency',
      'data.client.country',
    ]);
  });

  it('rejects payloads without a usable type or data', () => {
    expect(fields([])).toEqual(['type']);
    expect(fields('payout.available')).toEqual(['type']);
    expect(fields({ data: {} })).toEqual(['type']);
    expect(fields({ type: 'payout.available' })).toEqual(['data']);
    expect(fields({ type: 'payout.available', data: [1] })).toEqual(['data']);
  });
});

describe(storedType.name, () => {
  it('keeps at most 200 characters, never half of a surrogate pair, and nothing Postgres cannot store', () => {
    const long = storedType('😀'.repeat(250));
    expect([...long]).toHaveLength(201);
    expect(long.endsWith('😀…')).toBe(true);
    expect(long).not.toMatch(/\p{Cs}/u);
    expect(storedType('a\u0000b\ud800')).toBe('a\ufffdb\ufffd');
    expect(storedType('payout.available')).toBe('payout.available');
  });
});
