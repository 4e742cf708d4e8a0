import { parseJsonBody } from '../../common/json-body';
import { StripePayoutAdapter } from './stripe-payout.adapter';

describe(StripePayoutAdapter.name, () => {
  const sut = new StripePayoutAdapter();
  const event = (object: Record<string, unknown> = {}, metadata: Record<string, unknown> = {}) => ({
    id: 'evt_1QX',
    object: 'event',
    type: 'transfer.created',
    data: {
      object: {
        id: 'tr_1QX',
        object: 'transfer',
        amount: 125000,
        currency: 'usd',
        description: 'Design work, November',
        metadata: {
          freelancer_ref: 'fl-42',
          client_name: 'Acme Inc',
          client_country: 'DE',
          service_category: 'graphic_design',
          ...metadata,
        },
        ...object,
      },
    },
  });

  it('reads 125000 + usd as 1250.00 USD', () => {
    const result = sut.adapt(event());
    expect(result.kind).toBe('payout');
    if (result.kind !== 'payout') return;
    expect(result.instruction.gross.toFixed(2)).toBe('1250.00');
    expect(result.instruction).toEqual(
      expect.objectContaining({
        platformPayoutId: 'tr_1QX',
        freelancerRef: 'fl-42',
        currency: 'USD',
        client: { name: 'Acme Inc', country: 'DE' },
        description: 'Design work, November',
        serviceCategory: 'graphic_design',
      }),
    );
  });

  it('acts on payout.paid too and ignores other Stripe types', () => {
    expect(sut.adapt({ ...event(), type: 'payout.paid' }).kind).toBe('payout');
    expect(sut.adapt({ ...event(), type: 'charge.succeeded' })).toEqual({
      kind: 'ignored',
      type: 'charge.succeeded',
    });
  });

  it.each([
    ['zero', { amount: 0 }, {}, 'data.object.amount', /more than zero/],
    ['negative', { amount: -100 }, {}, 'data.object.amount', /more than zero/],
    ['fractional cents', { amount: 1250.5 }, {}, 'data.object.amount', /integer number of cents/],
    ['a string amount', { amount: '125000' }, {}, 'data.object.amount', /integer number of cents/],
    ['over the maximum', { amount: 100000001 }, {}, 'data.object.amount', /at most 1000000\.00/],
    ['non-USD', { currency: 'eur' }, {}, 'data.object.currency', /usd/],
    ['a PK client', {}, { client_country: 'PK' }, 'data.object.metadata.client_country', /PK/],
    [
      'no freelancer ref',
      {},
      { freelancer_ref: undefined },
      'data.object.metadata.freelancer_ref',
      /non-empty/,
    ],
    ['an unknown category', {}, { service_category: 'x' }, 'data.object.metadata.service_category', /one of/],
    ['a description that is not text', { description: 42 }, {}, 'data.object.description', /non-empty/],
    ['no metadata', { metadata: undefined }, {}, 'data.object.metadata', /object/],
  ])('rejects %s naming the field', (_label, object, metadata, field, message) => {
    const result = sut.adapt(event(object, metadata));
    expect(result).toEqual({
      kind: 'rejected',
      type: 'transfer.created',
      errors: [{ field, message: expect.stringMatching(message) }],
    });
  });

  it.each([null, undefined, '', '  '])(
    'describes the service by its category when Stripe has no description (%p)',
    (description) => {
      const result = sut.adapt(event({ description }));
      expect(result.kind === 'payout' && result.instruction.description).toBe('Graphic design services');
    },
  );

  it('names IT support as such', () => {
    const result = sut.adapt(event({ description: null }, { service_category: 'it_support' }));
    expect(result.kind === 'payout' && result.instruction.description).toBe('IT support services');
  });

  it('accepts the boundaries', () => {
    expect(sut.adapt(event({ amount: 1 })).kind).toBe('payout');
    expect(sut.adapt(event({ amount: 100000000 })).kind).toBe('payout');
  });

  it('rejects an event without its own id', () => {
    const { id: _id, ...withoutId } = event();
    const result = sut.adapt(withoutId);
    expect(result.kind === 'rejected' && result.errors.map((e) => e.field)).toEqual(['id']);
  });

  it('rejects an event without data.object', () => {
    const result = sut.adapt({ id: 'evt_2', type: 'transfer.created', data: {} });
    expect(result.kind === 'rejected' && result.errors.map((e) => e.field)).toEqual(['data.object']);
  });

  it('refuses an amount whose signed text is not an integer, even where a double would round it to one', () => {
    for (const amount of ['125000.0000000000001', '125000.0', '1.25e5']) {
      const text = JSON.stringify(event()).replace('"amount":125000', `"amount":${amount}`);
      const adapted = sut.adapt(parseJsonBody(Buffer.from(text), true));
      expect(adapted).toMatchObject({
        kind: 'rejected',
        errors: [{ field: 'data.object.amount', message: expect.stringMatching(/integer number of cents/) }],
      });
    }
    const whole = sut.adapt(parseJsonBody(Buffer.from(JSON.stringify(event())), true));
    expect(whole).toMatchObject({ kind: 'payout', instruction: { gross: expect.anything() } });
  });
});
