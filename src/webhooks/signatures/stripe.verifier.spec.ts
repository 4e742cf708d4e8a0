import { randomBytes } from 'node:crypto';
import Stripe from 'stripe';
import { StripeVerifier, stripeSignature } from './stripe.verifier';

describe(StripeVerifier.name, () => {
  const sut = new StripeVerifier();
  const stripe = new Stripe('sk_test_unused');
  const secret = `whsec_${randomBytes(32).toString('base64')}`;
  const now = 1_763_900_000;
  const payload = '{"id":"evt_1","type":"transfer.created","data":{"object":{"amount":125000}}}';
  const body = Buffer.from(payload);

  function header(options: { at?: number; key?: string; text?: string } = {}): string {
    return stripe.webhooks.generateTestHeaderString({
      payload: options.text ?? payload,
      secret: options.key ?? secret,
      timestamp: options.at ?? now,
    });
  }

  /** The v1 signature the official client makes with `key`, for headers it would not write itself. */
  function v1Of(key = secret): string {
    return header({ key }).split(',v1=')[1];
  }

  it('accepts what the official client signs', () => {
    expect(sut.verify({ rawBody: body, headers: { 'stripe-signature': header() } }, secret, now)).toEqual({
      valid: true,
      signedAt: now,
      messageId: null,
    });
  });

  it('keys the HMAC with the secret string as it is, not base64-decoded', () => {
    const decodedKey = Buffer.from(secret.slice(6), 'base64').toString('latin1');
    expect(stripeSignature(secret, now, body)).not.toBe(stripeSignature(decodedKey, now, body));
    expect(header()).toBe(`t=${now},v1=${stripeSignature(secret, now, body)}`);
  });

  it('refuses a tampered body and another secret', () => {
    const headers = { 'stripe-signature': header() };
    expect(
      sut.verify({ rawBody: Buffer.from(payload.replace('125000', '925000')), headers }, secret, now).valid,
    ).toBe(false);
    const other = header({ key: `whsec_${randomBytes(32).toString('base64')}` });
    expect(sut.verify({ rawBody: body, headers: { 'stripe-signature': other } }, secret, now).valid).toBe(
      false,
    );
  });

  it.each([
    ['301 s old', now - 301, false],
    ['300 s old', now - 300, true],
    ['300 s ahead', now + 300, true],
    ['301 s ahead', now + 301, false],
  ])('timestamp %s → valid %s', (_label, at, valid) => {
    expect(
      sut.verify({ rawBody: body, headers: { 'stripe-signature': header({ at }) } }, secret, now).valid,
    ).toBe(valid);
  });

  it('passes when any one of several v1 signatures matches (secret rotation)', () => {
    const good = v1Of();
    const old = v1Of('whsec_old');
    const rotated = `t=${now},v1=${old},v1=${good},v0=${old}`;
    expect(sut.verify({ rawBody: body, headers: { 'stripe-signature': rotated } }, secret, now).valid).toBe(
      true,
    );
    const onlyOld = `t=${now},v1=${old},v0=${good}`;
    expect(sut.verify({ rawBody: body, headers: { 'stripe-signature': onlyOld } }, secret, now).valid).toBe(
      false,
    );
  });

  it('refuses missing, malformed and ambiguous headers', () => {
    const good = v1Of();
    for (const value of [
      undefined,
      '',
      `v1=${good}`,
      `t=${now}`,
      `t=abc,v1=${good}`,
      `t=${now},t=${now - 1},v1=${good}`,
      `t=${now},v1=${good.toUpperCase()}`,
      [`t=${now},v1=${good}`, `t=${now},v1=${good}`],
    ]) {
      expect(sut.verify({ rawBody: body, headers: { 'stripe-signature': value } }, secret, now).valid).toBe(
        false,
      );
    }
  });

  it("takes the event id from the event's own id, whatever the platform's payload", () => {
    expect(sut.bodyEventId(JSON.parse(payload))).toBe('evt_1');
    expect(sut.bodyEventId({ id: 'evt_fvr1', type: 'payout.available', data: {} })).toBe('evt_fvr1');
    for (const bad of [
      { id: 42 },
      { id: '' },
      { id: 'evt 1' },
      { id: 'e'.repeat(256) },
      ['evt_1'],
      'x',
      null,
    ]) {
      expect(sut.bodyEventId(bad)).toBeNull();
    }
  });
});
