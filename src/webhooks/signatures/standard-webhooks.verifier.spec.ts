import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { StandardWebhooksVerifier, standardWebhooksSignature } from './standard-webhooks.verifier';

describe(StandardWebhooksVerifier.name, () => {
  const sut = new StandardWebhooksVerifier();
  const secret = `whsec_${randomBytes(32).toString('base64')}`;
  const now = 1_763_900_000;
  const body = Buffer.from('{"type":"payout.available","data":{"amount":"1250.00"}}');

  function signed(options: { id?: string; at?: number; key?: string; payload?: Buffer } = {}) {
    const id = options.id ?? 'msg_2a';
    const at = options.at ?? now;
    const signature = new Webhook(options.key ?? secret).sign(
      id,
      new Date(at * 1000),
      options.payload ?? body,
    );
    return { 'webhook-id': id, 'webhook-timestamp': String(at), 'webhook-signature': signature };
  }

  it('reproduces the published Standard Webhooks test vector', () => {
    // From standard-webhooks/standard-webhooks, libraries/javascript/src/webhook.test.ts ("sign function works").
    const vector = {
      secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
      id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
      timestamp: 1614265330,
      body: '{"test": 2432232314}',
      signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
    };
    expect(
      `v1,${standardWebhooksSignature(vector.secret, vector.id, vector.timestamp, Buffer.from(vector.body))}`,
    ).toBe(vector.signature);
    const headers = {
      'webhook-id': vector.id,
      'webhook-timestamp': String(vector.timestamp),
      'webhook-signature': vector.signature,
    };
    expect(
      sut.verify({ rawBody: Buffer.from(vector.body), headers }, vector.secret, vector.timestamp),
    ).toEqual({
      valid: true,
      signedAt: vector.timestamp,
      messageId: vector.id,
    });
  });

  it('accepts what the official client signs', () => {
    expect(sut.verify({ rawBody: body, headers: signed() }, secret, now)).toEqual({
      valid: true,
      signedAt: now,
      messageId: 'msg_2a',
    });
  });

  it('refuses a tampered body, another id and another secret', () => {
    const headers = signed();
    expect(sut.verify({ rawBody: Buffer.from(`${body} `), headers }, secret, now).valid).toBe(false);
    expect(
      sut.verify({ rawBody: body, headers: { ...headers, 'webhook-id': 'msg_2b' } }, secret, now).valid,
    ).toBe(false);
    const other = `whsec_${randomBytes(32).toString('base64')}`;
    expect(sut.verify({ rawBody: body, headers: signed({ key: other }) }, secret, now).valid).toBe(false);
  });

  it('keys the HMAC with the decoded secret, not the secret string', () => {
    const headers = signed();
    const asString = `whsec_${Buffer.from(secret).toString('base64')}`;
    expect(sut.verify({ rawBody: body, headers }, asString, now).valid).toBe(false);
  });

  it.each([
    ['301 s old', now - 301, false],
    ['300 s old', now - 300, true],
    ['300 s ahead', now + 300, true],
    ['301 s ahead', now + 301, false],
  ])('timestamp %s → valid %s', (_label, at, valid) => {
    expect(sut.verify({ rawBody: body, headers: signed({ at }) }, secret, now).valid).toBe(valid);
  });

  it('passes when any one of several v1 signatures matches (secret rotation)', () => {
    const headers = signed();
    const old = signed({ key: `whsec_${randomBytes(32).toString('base64')}` })['webhook-signature'];
    const v2 = headers['webhook-signature'].replace('v1,', 'v2,');
    const rotated = { ...headers, 'webhook-signature': `${old} ${headers['webhook-signature']} ${v2}` };
    expect(sut.verify({ rawBody: body, headers: rotated }, secret, now).valid).toBe(true);
    const onlyOthers = { ...headers, 'webhook-signature': `${old} ${v2}` };
    expect(sut.verify({ rawBody: body, headers: onlyOthers }, secret, now).valid).toBe(false);
  });

  it.each(['webhook-id', 'webhook-timestamp', 'webhook-signature'])(
    'refuses a request without %s',
    (name) => {
      const headers: Record<string, string> = signed();
      delete headers[name];
      const result = sut.verify({ rawBody: body, headers }, secret, now);
      expect(result.valid).toBe(false);
    },
  );

  it('refuses malformed headers and repeated headers', () => {
    const headers = signed();
    for (const broken of [
      { ...headers, 'webhook-timestamp': 'yesterday' },
      { ...headers, 'webhook-timestamp': `${now}.5` },
      { ...headers, 'webhook-signature': 'v1,' },
      { ...headers, 'webhook-signature': headers['webhook-signature'].slice(0, 10) },
      { ...headers, 'webhook-id': '' },
      { ...headers, 'webhook-id': 'x'.repeat(256) },
      { ...headers, 'webhook-signature': [headers['webhook-signature'], headers['webhook-signature']] },
    ]) {
      expect(sut.verify({ rawBody: body, headers: broken }, secret, now).valid).toBe(false);
    }
  });

  it('never takes the event id from the body: it is the signed webhook-id header', () => {
    expect(sut.bodyEventId()).toBeNull();
  });
});
