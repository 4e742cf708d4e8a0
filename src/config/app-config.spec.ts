import { createHash } from 'node:crypto';
import { openSecret, sealSecret, SecretBoxError } from '../common/secret-box';
import { loadConfig } from './app-config';

describe('TRUST_PROXY', () => {
  it('trusts no proxy unless set, so X-Forwarded-For is not the client address', () => {
    expect(loadConfig({}).trustProxy).toBe(false);
  });

  it('reads a hop count as a number and addresses, ranges or names as they are', () => {
    expect(loadConfig({ TRUST_PROXY: '1' }).trustProxy).toBe(1);
    expect(loadConfig({ TRUST_PROXY: 'loopback' }).trustProxy).toBe('loopback');
    expect(loadConfig({ TRUST_PROXY: '10.0.0.0/8, 192.168.1.4' }).trustProxy).toBe('10.0.0.0/8, 192.168.1.4');
  });

  it('reads IPv6 addresses and ranges and IPv4 netmasks', () => {
    const proxies = 'fd00::/8, ::1, 10.0.0.0/255.0.0.0, uniquelocal';
    expect(loadConfig({ TRUST_PROXY: proxies }).trustProxy).toBe(proxies);
  });

  it.each([
    'everyone!',
    'banana',
    '10.0.0.0/99',
    '10.0.0.0/0',
    '300.1.1.1',
    'fd00::/129',
    '10.0.0.0/8/8',
    '1,,2',
  ])('refuses %s, naming the variable', (value) => {
    expect(() => loadConfig({ TRUST_PROXY: value })).toThrow(/TRUST_PROXY is a number of proxy hops/);
  });
});

describe('PUBLIC_BASE_URL', () => {
  it('takes an absolute http(s) URL', () => {
    expect(loadConfig({ PUBLIC_BASE_URL: 'https://pay.example.pk' }).publicBaseUrl).toMatch(
      /^https:\/\/pay\.example\.pk/,
    );
  });

  it.each(['notaurl', 'ftp://pay.example.pk', 'https://pay.example.pk/?a=1', 'https://pay.example.pk/#x'])(
    'refuses %s, naming the variable',
    (value) => {
      expect(() => loadConfig({ PUBLIC_BASE_URL: value })).toThrow(/PUBLIC_BASE_URL must be an absolute/);
    },
  );
});

describe('whole numbers', () => {
  it('says a value that is not one is not one, and nothing about its range', () => {
    expect(() => loadConfig({ PORT: 'abc' })).toThrow(/PORT: [^;,]*integer[^;,]*$/);
  });

  it.each([
    'PORT',
    'RECONCILE_INTERVAL_MS',
    'RETURN_WINDOW_MS',
    'RETURN_CHECK_DELAY_MS',
    'PROVIDER_WAIT_MAX_MS',
  ])('refuses %s holding only white space (which Number() reads as 0), naming it', (name) => {
    expect(() => loadConfig({ [name]: ' ' })).toThrow(new RegExp(`${name}: `));
    expect(() => loadConfig({ [name]: '\t' })).toThrow(new RegExp(`${name}: `));
  });

  it.each(['HTTP_REQUEST_TIMEOUT_MS', 'WORKER_CONCURRENCY', 'SWEEP_STALE_AFTER_MS', 'BREAKER_COOLDOWN_MS'])(
    'refuses %s written with an exponent or past a safe integer, naming it',
    (name) => {
      expect(() => loadConfig({ [name]: '1e20' })).toThrow(new RegExp(`${name}: `));
      expect(() => loadConfig({ [name]: '99999999999999999999' })).toThrow(new RegExp(`${name}: `));
    },
  );

  it('reads an empty value as unset, as docker-compose passes `${NAME:-}`, and takes a sign', () => {
    expect(loadConfig({ PORT: '' }).port).toBe(3000);
    expect(loadConfig({ PORT: '+3001' }).port).toBe(3001);
  });
});

describe('scheduled reconciliation', () => {
  it('runs hourly over the 25 hours that ended 10 minutes ago unless told otherwise, and 0 turns it off', () => {
    expect(loadConfig({}).reconcile).toEqual({
      intervalMs: 3_600_000,
      lookbackMs: 90_000_000,
      lagMs: 600_000,
      providerTimeoutMs: 300_000,
    });
    expect(loadConfig({ RECONCILE_INTERVAL_MS: '0' }).reconcile.intervalMs).toBe(0);
  });

  it('refuses a lag that leaves no window, and a window longer than a report reads', () => {
    expect(() => loadConfig({ RECONCILE_LOOKBACK_MS: '600000' })).toThrow(
      /RECONCILE_LAG_MS must be less than RECONCILE_LOOKBACK_MS/,
    );
    expect(() => loadConfig({ RECONCILE_LOOKBACK_MS: String(32 * 86_400_000) })).toThrow(
      /RECONCILE_LOOKBACK_MS/,
    );
  });

  it('refuses an interval longer than a timer can wait, which Node would shorten to 1 ms (a pass every millisecond)', () => {
    expect(() => loadConfig({ RECONCILE_INTERVAL_MS: String(30 * 86_400_000) })).toThrow(
      /RECONCILE_INTERVAL_MS/,
    );
    expect(loadConfig({ RECONCILE_INTERVAL_MS: '2147483647' }).reconcile.intervalMs).toBe(2_147_483_647);
  });
});

describe('durations a Node timer waits', () => {
  // Node cuts a longer delay to 1 ms: a sweep or dispatch every millisecond, every send aborted at once, every Redis
  // command timed out, and a SIGTERM that exits (1) at once instead of letting the workers finish.
  it.each([
    'SWEEP_INTERVAL_MS',
    'PARTNER_WEBHOOK_DISPATCH_INTERVAL_MS',
    'SHUTDOWN_TIMEOUT_MS',
    'SEND_TIMEOUT_MS',
    'REDIS_COMMAND_TIMEOUT_MS',
  ])('refuses %s longer than a timer can wait, and takes the longest it can', (name) => {
    expect(() => loadConfig({ [name]: '2147483648' })).toThrow(new RegExp(`${name}: .*2147483647`));
    expect(() => loadConfig({ [name]: '2147483647' })).not.toThrow();
  });
});

describe('PUBLIC_BASE_URL in production', () => {
  // CONTRACT §3: the verify endpoint is "the URL in the PDF's QR code ... so a bank can check a printed invoice".
  // Without PUBLIC_BASE_URL, production starts and every PDF's QR code says http://localhost:3000/...
  const production = {
    NODE_ENV: 'production',
    OPS_TOKEN: 'a-production-ops-token-0123456789',
    SECRETS_KEY: Buffer.alloc(32, 7).toString('base64'),
  };

  it('refuses to start in production without PUBLIC_BASE_URL, as it does without OPS_TOKEN', () => {
    expect(() => loadConfig(production)).toThrow(/PUBLIC_BASE_URL/);
  });

  it('takes only https in production, or http to this machine itself for the local demo', () => {
    expect(() => loadConfig({ ...production, PUBLIC_BASE_URL: 'http://pay.example.pk' })).toThrow(
      /PUBLIC_BASE_URL must be https:\/\//,
    );
    for (const url of ['https://pay.example.pk', 'http://localhost:3000', 'http://127.0.0.1:3000'])
      expect(loadConfig({ ...production, PUBLIC_BASE_URL: url }).publicBaseUrl).toBe(url);
  });
});

describe('OPS_TOKEN', () => {
  const production = {
    NODE_ENV: 'production',
    PUBLIC_BASE_URL: 'https://pay.example.pk',
    SECRETS_KEY: Buffer.alloc(32, 7).toString('base64'),
  };

  it.each(['a-production-ops-token-0123456789\n', 'a-production ops-token-0123456789'])(
    'refuses a token with white space, which no bearer header can carry: %j',
    (token) => {
      expect(() => loadConfig({ OPS_TOKEN: token })).toThrow(/OPS_TOKEN must not contain white space/);
    },
  );

  it('refuses the development default in production, and takes any other token', () => {
    expect(() => loadConfig({ ...production, OPS_TOKEN: 'dev-ops-token-change-me' })).toThrow(
      /OPS_TOKEN must not be the development default/,
    );
    expect(loadConfig({ ...production, OPS_TOKEN: 'a-production-ops-token-0123456789' }).opsToken).toBe(
      'a-production-ops-token-0123456789',
    );
  });

  it('takes OPS_TOKEN_PREVIOUS beside an OPS_TOKEN of its own, as one more token while clients move over', () => {
    const config = loadConfig({
      OPS_TOKEN: 'the-new-ops-token-0123456789',
      OPS_TOKEN_PREVIOUS: 'the-old-ops-token-0123',
    });
    expect(config.opsToken).toBe('the-new-ops-token-0123456789');
    expect(config.opsTokenPrevious).toBe('the-old-ops-token-0123');
    expect(loadConfig({ OPS_TOKEN: 'the-new-ops-token-0123456789' }).opsTokenPrevious).toBeNull();
    // docker-compose passes it empty when the operator did not set it.
    expect(
      loadConfig({ OPS_TOKEN: 'the-new-ops-token-0123456789', OPS_TOKEN_PREVIOUS: '' }).opsTokenPrevious,
    ).toBeNull();
  });

  it.each([
    [
      { OPS_TOKEN_PREVIOUS: 'the-old-ops-token-0123' },
      /OPS_TOKEN_PREVIOUS is taken only beside an OPS_TOKEN/,
    ],
    [
      { OPS_TOKEN: 'the-new-ops-token-0123456789', OPS_TOKEN_PREVIOUS: 'short' },
      /OPS_TOKEN_PREVIOUS must be at least 16/,
    ],
    [
      { OPS_TOKEN: 'the-new-ops-token-0123456789', OPS_TOKEN_PREVIOUS: 'the-old-ops-token-0123\n' },
      /OPS_TOKEN_PREVIOUS must not contain white space/,
    ],
    [
      { OPS_TOKEN: 'the-new-ops-token-0123456789', OPS_TOKEN_PREVIOUS: 'dev-ops-token-change-me' },
      /OPS_TOKEN_PREVIOUS must not be the development default/,
    ],
  ])('refuses OPS_TOKEN_PREVIOUS in %j', (env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
  });
});

describe('WEBHOOK_TRUSTED_HOSTS', () => {
  it('takes host names and address literals, with a port unless the default, comma-separated', () => {
    expect([
      ...loadConfig({ WEBHOOK_TRUSTED_HOSTS: 'receiver.internal:8080, 10.0.0.5,[fd00::5]:9000' })
        .webhookTrustedHosts,
    ]).toEqual(['receiver.internal:8080', '10.0.0.5', '[fd00::5]:9000']);
    expect(loadConfig({}).webhookTrustedHosts.size).toBe(0);
    // docker-compose passes it empty when the operator did not set it.
    expect(loadConfig({ WEBHOOK_TRUSTED_HOSTS: '' }).webhookTrustedHosts.size).toBe(0);
  });

  it.each([
    'http://receiver.internal',
    'receiver.internal:80',
    'receiver.internal:',
    'receiver.internal/hooks',
    'Receiver.Internal',
    'fd00::5',
    'a,,b',
    'a b',
  ])('refuses %j, which no URL host reads as', (value) => {
    expect(() => loadConfig({ WEBHOOK_TRUSTED_HOSTS: value })).toThrow(/WEBHOOK_TRUSTED_HOSTS is host names/);
  });
});

describe('partner webhook retry schedule', () => {
  it('refuses a base and cap so small that a delivery would take more attempts than the limit', () => {
    expect(() =>
      loadConfig({ PARTNER_WEBHOOK_RETRY_BASE_MS: '1', PARTNER_WEBHOOK_RETRY_CAP_MS: '1' }),
    ).toThrow(
      /PARTNER_WEBHOOK_RETRY_CAP_MS are too small for PARTNER_WEBHOOK_RETRY_WINDOW_MS: .* more than 1000 attempts/,
    );
    // Exactly the limit: 999 delays of 86,487 ms cover the default 24 hours, so 1,000 attempts.
    const atLimit = { PARTNER_WEBHOOK_RETRY_BASE_MS: '86487', PARTNER_WEBHOOK_RETRY_CAP_MS: '86487' };
    expect(loadConfig(atLimit).partnerWebhooks.retryCapMs).toBe(86_487);
    expect(() =>
      loadConfig({ PARTNER_WEBHOOK_RETRY_BASE_MS: '86486', PARTNER_WEBHOOK_RETRY_CAP_MS: '86486' }),
    ).toThrow(/more than 1000 attempts/);
    expect(loadConfig({}).partnerWebhooks.retryBaseMs).toBe(30_000);
  });
});

describe('SECRETS_KEY and SECRETS_KEYS_DECRYPT_ONLY', () => {
  it('refuses the development key as SECRETS_KEY in production, and keeps it as a decrypt-only key', () => {
    const developmentKey = createHash('sha256')
      .update('payout-router development secrets key')
      .digest('base64');
    const production = {
      NODE_ENV: 'production',
      PUBLIC_BASE_URL: 'https://pay.example.pk',
      OPS_TOKEN: 'a-production-ops-token-0123456789',
    };
    expect(() => loadConfig({ ...production, SECRETS_KEY: developmentKey })).toThrow(
      /SECRETS_KEY must not be the development key/,
    );
    expect(
      loadConfig({ ...production, SECRETS_KEY: key(1), SECRETS_KEYS_DECRYPT_ONLY: developmentKey }).nodeEnv,
    ).toBe('production');
    expect(loadConfig({ SECRETS_KEY: developmentKey }).nodeEnv).not.toBe('production');
  });

  const key = (fill: number) => Buffer.alloc(32, fill).toString('base64');

  it('seals with SECRETS_KEY and opens with it and every decrypt-only key', () => {
    const before = loadConfig({ SECRETS_KEY: key(1) }).secretKeys;
    const sealedBefore = sealSecret(before, 'whsec_x', 'row');
    const { secretKeys } = loadConfig({
      SECRETS_KEY: key(2),
      SECRETS_KEYS_DECRYPT_ONLY: `${key(1)},${key(3)}`,
    });
    expect(secretKeys.current.equals(Buffer.alloc(32, 2))).toBe(true);
    expect(openSecret(secretKeys, sealedBefore, 'row')).toBe('whsec_x');
    expect(() => openSecret(loadConfig({ SECRETS_KEY: key(2) }).secretKeys, sealedBefore, 'row')).toThrow(
      SecretBoxError,
    );
  });

  it('takes an empty list as none, as docker-compose passes a variable left unset', () => {
    const { secretKeys } = loadConfig({ SECRETS_KEY: key(2), SECRETS_KEYS_DECRYPT_ONLY: '' });
    expect(() =>
      openSecret(secretKeys, sealSecret(loadConfig({ SECRETS_KEY: key(1) }).secretKeys, 'x', 'r'), 'r'),
    ).toThrow(SecretBoxError);
  });

  it.each([key(1).slice(1), `${key(1)},`, `${key(1)} ${key(2)}`, 'c2hvcnQ='])(
    'refuses a decrypt-only list that is not 32-byte base64 keys separated by commas: %j',
    (value) => {
      expect(() => loadConfig({ SECRETS_KEY: key(2), SECRETS_KEYS_DECRYPT_ONLY: value })).toThrow(
        /SECRETS_KEYS_DECRYPT_ONLY must be keys of 32 bytes, base64, separated by commas/,
      );
    },
  );
});
