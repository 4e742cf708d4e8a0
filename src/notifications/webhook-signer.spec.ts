import { Webhook } from 'standardwebhooks';
import { generateEndpointSecret, signWebhook } from './webhook-signer';

describe(signWebhook.name, () => {
  const body = '{"type":"payout.settled","id":"evt_1","data":{"net":"1210.50"}}';

  it('produces headers the official standardwebhooks library verifies', () => {
    const secret = generateEndpointSecret();
    const now = Math.floor(Date.now() / 1000);
    const headers = signWebhook([secret], 'evt_1', now, body);
    expect(headers['webhook-id']).toBe('evt_1');
    expect(headers['webhook-timestamp']).toBe(String(now));
    expect(new Webhook(secret).verify(body, { ...headers })).toEqual(JSON.parse(body));
  });

  it('matches the official signer byte for byte', () => {
    const secret = generateEndpointSecret();
    const at = 1_763_900_000;
    expect(signWebhook([secret], 'msg_1', at, body)['webhook-signature']).toBe(
      new Webhook(secret).sign('msg_1', new Date(at * 1000), body),
    );
  });

  it('reproduces the published Standard Webhooks test vector', () => {
    // From standard-webhooks/standard-webhooks, libraries/javascript/src/webhook.test.ts ("sign function works").
    expect(
      signWebhook(
        ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'],
        'msg_p5jXN8AQM9LWM0D4loKWxJek',
        1614265330,
        '{"test": 2432232314}',
      )['webhook-signature'],
    ).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });

  it('fails verification with another secret or a changed body', () => {
    const secret = generateEndpointSecret();
    const headers = { ...signWebhook([secret], 'evt_1', Math.floor(Date.now() / 1000), body) };
    expect(() => new Webhook(generateEndpointSecret()).verify(body, headers)).toThrow();
    expect(() => new Webhook(secret).verify(`${body} `, headers)).toThrow();
  });

  it('signs with each secret while a rotated one still works, and either verifies with the official library', () => {
    const [old, fresh] = [generateEndpointSecret(), generateEndpointSecret()];
    const headers = { ...signWebhook([fresh, old], 'evt_1', Math.floor(Date.now() / 1000), body) };
    expect(headers['webhook-signature'].split(' ')).toHaveLength(2);
    expect(new Webhook(old).verify(body, headers)).toEqual(JSON.parse(body));
    expect(new Webhook(fresh).verify(body, headers)).toEqual(JSON.parse(body));
    expect(() => new Webhook(generateEndpointSecret()).verify(body, headers)).toThrow();
  });

  it('generates whsec_ secrets of 32 random bytes', () => {
    const secret = generateEndpointSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(secret.slice(6), 'base64')).toHaveLength(32);
    expect(generateEndpointSecret()).not.toBe(secret);
  });
});
