import { createHash, randomBytes } from 'node:crypto';
import { fitsAttemptLimit, MAX_DELIVERY_ATTEMPTS } from '../notifications/retry-schedule';
import { SecretKeys } from '../common/secret-box';
import { InvalidEnvironmentError, validateEnvironment } from './environment';

/** The key that seals secrets when SECRETS_KEY is unset (development and tests only). */
const DEVELOPMENT_SECRETS_KEY = createHash('sha256').update('payout-router development secrets key').digest();

export type Role = 'api' | 'worker' | 'all';

/** The one typed configuration object. Built once at start from the validated environment. */
export interface AppConfig {
  nodeEnv: 'development' | 'test' | 'production';
  databaseUrl: string;
  redisUrl: string;
  port: number;
  role: Role;
  opsToken: string;
  opsTokenIsDevelopmentDefault: boolean;
  /** Also taken while clients move over to a new OPS_TOKEN. */
  opsTokenPrevious: string | null;
  logLevel: string;
  partnerRateLimitPerSecond: number;
  /** Per client address, on the endpoints that need no credential. */
  publicRateLimitPerSecond: number;
  webhookRateLimitPerSecond: number;
  /** SECRETS_KEY (32 bytes) seals stored signing secrets with AES-256-GCM; it and SECRETS_KEYS_DECRYPT_ONLY open them. */
  secretKeys: SecretKeys;
  secretsKeyIsDevelopmentDefault: boolean;
  invoiceSigningKeyPem: string | undefined;
  invoiceSigningKeyFile: string;
  /**
   * Where the invoice PDF's Unicode fonts are (DejaVu Sans, regular and bold). `required` when INVOICE_FONT_DIR was
   * set: then missing fonts stop the start; the default directory may be missing (standard fonts instead).
   */
  invoiceFonts: { dir: string; required: boolean };
  publicBaseUrl: string;
  /**
   * Which proxies in front of the api may tell it the client's address (X-Forwarded-For): none unless set, so
   * a client cannot choose the address its per-address limits count under.
   */
  trustProxy: number | string | false;
  /** Hosts a partner's webhook endpoint may name over plain http and at a private address (an internal receiver). */
  webhookTrustedHosts: ReadonlySet<string>;
  queuePrefix: string;
  breaker: { failureThreshold: number; windowMs: number; cooldownMs: number };
  sweep: { intervalMs: number; staleAfterMs: number };
  /** How long a pipeline job that failed is kept in Redis for ops to read, before the worker removes it. */
  failedJobRetentionMs: number;
  /** Scheduled reconciliation (worker role): every `intervalMs` (0: never), the window [now - lookbackMs, now - lagMs). */
  reconcile: { intervalMs: number; lookbackMs: number; lagMs: number; providerTimeoutMs: number };
  workerConcurrency: number;
  /**
   * A settled transfer is checked for a late return this long after settling, then after twice as long each time,
   * for as long as the checks stay within the return window.
   */
  returnCheckDelayMs: number;
  returnWindowMs: number;
  /** How long one send to a provider may take before the pipeline stops waiting (its outcome is then unknown). */
  sendTimeoutMs: number;
  /** How often a transfer still processing is asked about once a settle job's quick polls are used up. */
  settlePollIntervalMs: number;
  /**
   * How long a client may take to send a whole request, headers and body; past it the api answers 408 and closes
   * the connection, so a client that never finishes its body cannot hold a connection open.
   */
  httpRequestTimeoutMs: number;
  /** How long a graceful stop may take before the process exits anyway (see main.ts). */
  shutdownTimeoutMs: number;
  /**
   * How long a command to Redis for rate limits, epochs and breakers may take; past it the command fails as if
   * Redis were down (a rate limit then lets the request through), so a Redis that hangs holds no request.
   */
  redisCommandTimeoutMs: number;
  /**
   * How long a payout may wait for providers to come back (a breaker to close, ops to enable a provider) when
   * only they stand between it and a route, counted from when it was received or retried; then it fails.
   */
  providerWaitMaxMs: number;
  /** Sandbox connectors: the seed of their outcome draws (random unless set) and default settlement delay. */
  sandbox: { seed: string; settleAfterMs: number };
  /**
   * Webhooks to partners: POST timeout, how often new events are fanned out to endpoints, and the retry
   * schedule (base doubling up to cap, until the delays add up to the window).
   */
  partnerWebhooks: {
    timeoutMs: number;
    /** Attempts one endpoint may have on their way at once, across every worker. */
    maxInFlightPerEndpoint: number;
    /** Attempts all of one partner's endpoints may have on their way at once, across every worker. */
    maxInFlightPerPartner: number;
    /** Delivery jobs one worker process runs at once: they wait on partners' servers, not on the CPU. */
    concurrency: number;
    dispatchIntervalMs: number;
    retryBaseMs: number;
    retryCapMs: number;
    retryWindowMs: number;
  };
}

export const APP_CONFIG = Symbol('APP_CONFIG');

const DEVELOPMENT_OPS_TOKEN = 'dev-ops-token-change-me';

export function loadConfig(raw: Record<string, string | undefined> = process.env): AppConfig {
  const env = validateEnvironment(raw);
  const nodeEnv = (env.NODE_ENV ?? 'development') as AppConfig['nodeEnv'];
  const port = env.PORT ?? 3000;
  const reconcile = {
    intervalMs: env.RECONCILE_INTERVAL_MS ?? 60 * 60 * 1000,
    lookbackMs: env.RECONCILE_LOOKBACK_MS ?? 25 * 60 * 60 * 1000,
    lagMs: env.RECONCILE_LAG_MS ?? 10 * 60 * 1000,
    /** How long one report waits for a provider's books (its statement and status lookups). */
    providerTimeoutMs: env.RECONCILE_PROVIDER_TIMEOUT_MS ?? 5 * 60 * 1000,
  };
  if (env.OPS_TOKEN_PREVIOUS !== undefined && env.OPS_TOKEN === undefined) {
    throw new InvalidEnvironmentError(
      'Invalid environment variables: OPS_TOKEN_PREVIOUS is taken only beside an OPS_TOKEN of its own',
    );
  }
  if (env.OPS_TOKEN_PREVIOUS === DEVELOPMENT_OPS_TOKEN) {
    throw new InvalidEnvironmentError(
      'Invalid environment variables: OPS_TOKEN_PREVIOUS must not be the development default',
    );
  }
  if (nodeEnv === 'production' && env.OPS_TOKEN === DEVELOPMENT_OPS_TOKEN) {
    // The development default is in this repository for anyone to read.
    throw new InvalidEnvironmentError(
      'Invalid environment variables: OPS_TOKEN must not be the development default when NODE_ENV=production',
    );
  }
  if (
    nodeEnv === 'production' &&
    env.SECRETS_KEY &&
    Buffer.from(env.SECRETS_KEY, 'base64').equals(DEVELOPMENT_SECRETS_KEY)
  ) {
    // Derived from a text in this repository: secrets sealed with it are sealed for anyone who reads it. It may
    // stay in SECRETS_KEYS_DECRYPT_ONLY while the rows it sealed are sealed again.
    throw new InvalidEnvironmentError(
      'Invalid environment variables: SECRETS_KEY must not be the development key when NODE_ENV=production',
    );
  }
  if (reconcile.lagMs >= reconcile.lookbackMs) {
    throw new InvalidEnvironmentError(
      'Invalid environment variables: RECONCILE_LAG_MS must be less than RECONCILE_LOOKBACK_MS',
    );
  }
  const retry = {
    baseMs: env.PARTNER_WEBHOOK_RETRY_BASE_MS ?? 30_000,
    capMs: env.PARTNER_WEBHOOK_RETRY_CAP_MS ?? 3_600_000,
    windowMs: env.PARTNER_WEBHOOK_RETRY_WINDOW_MS ?? 86_400_000,
  };
  if (!fitsAttemptLimit(retry)) {
    throw new InvalidEnvironmentError(
      `Invalid environment variables: PARTNER_WEBHOOK_RETRY_BASE_MS and PARTNER_WEBHOOK_RETRY_CAP_MS are too ` +
        `small for PARTNER_WEBHOOK_RETRY_WINDOW_MS: a delivery would take more than ${MAX_DELIVERY_ATTEMPTS} attempts`,
    );
  }
  return {
    nodeEnv,
    databaseUrl: env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/payouts',
    redisUrl: env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    port,
    role: (env.ROLE ?? 'all') as Role,
    opsToken: env.OPS_TOKEN ?? DEVELOPMENT_OPS_TOKEN,
    opsTokenPrevious: env.OPS_TOKEN_PREVIOUS ?? null,
    opsTokenIsDevelopmentDefault: env.OPS_TOKEN === undefined,
    logLevel: env.LOG_LEVEL ?? (nodeEnv === 'test' ? 'silent' : 'info'),
    partnerRateLimitPerSecond: env.PARTNER_RATE_LIMIT_PER_SECOND ?? 1000,
    webhookRateLimitPerSecond: env.WEBHOOK_RATE_LIMIT_PER_SECOND ?? 1000,
    publicRateLimitPerSecond: env.PUBLIC_RATE_LIMIT_PER_SECOND ?? 20,
    secretKeys: new SecretKeys(
      env.SECRETS_KEY ? Buffer.from(env.SECRETS_KEY, 'base64') : DEVELOPMENT_SECRETS_KEY,
      (env.SECRETS_KEYS_DECRYPT_ONLY?.split(',') ?? []).map((key) => Buffer.from(key, 'base64')),
    ),
    secretsKeyIsDevelopmentDefault: env.SECRETS_KEY === undefined,
    invoiceSigningKeyPem: env.INVOICE_SIGNING_KEY_PEM,
    invoiceSigningKeyFile: env.INVOICE_SIGNING_KEY_FILE ?? '.keys/invoice-signing-key.pem',
    invoiceFonts: {
      dir: env.INVOICE_FONT_DIR ?? '/usr/share/fonts/truetype/dejavu',
      required: env.INVOICE_FONT_DIR !== undefined,
    },
    publicBaseUrl: env.PUBLIC_BASE_URL ?? `http://localhost:${port}`,
    webhookTrustedHosts: new Set(env.WEBHOOK_TRUSTED_HOSTS?.split(',').map((host) => host.trim()) ?? []),
    trustProxy: !env.TRUST_PROXY
      ? false
      : /^\d+$/.test(env.TRUST_PROXY)
        ? Number(env.TRUST_PROXY)
        : env.TRUST_PROXY,
    queuePrefix: env.QUEUE_PREFIX ?? 'payouts',
    breaker: {
      failureThreshold: env.BREAKER_FAILURE_THRESHOLD ?? 5,
      windowMs: env.BREAKER_WINDOW_MS ?? 60_000,
      cooldownMs: env.BREAKER_COOLDOWN_MS ?? 30_000,
    },
    failedJobRetentionMs: (env.FAILED_JOB_RETENTION_DAYS ?? 30) * 24 * 60 * 60 * 1000,
    sweep: {
      intervalMs: env.SWEEP_INTERVAL_MS ?? 5_000,
      staleAfterMs: env.SWEEP_STALE_AFTER_MS ?? 30_000,
    },
    reconcile,
    workerConcurrency: env.WORKER_CONCURRENCY ?? 16,
    returnCheckDelayMs: env.RETURN_CHECK_DELAY_MS ?? 60_000,
    returnWindowMs: env.RETURN_WINDOW_MS ?? 30 * 24 * 60 * 60 * 1000,
    sendTimeoutMs: env.SEND_TIMEOUT_MS ?? 30_000,
    settlePollIntervalMs: env.SETTLE_POLL_INTERVAL_MS ?? 60_000,
    httpRequestTimeoutMs: env.HTTP_REQUEST_TIMEOUT_MS ?? 30_000,
    shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS ?? 35_000,
    redisCommandTimeoutMs: env.REDIS_COMMAND_TIMEOUT_MS ?? 500,
    providerWaitMaxMs: env.PROVIDER_WAIT_MAX_MS ?? 24 * 60 * 60 * 1000,
    sandbox: {
      seed: env.SANDBOX_SEED ?? randomBytes(16).toString('hex'),
      settleAfterMs: env.SANDBOX_SETTLE_AFTER_MS ?? 1_000,
    },
    partnerWebhooks: {
      timeoutMs: env.PARTNER_WEBHOOK_TIMEOUT_MS ?? 10_000,
      maxInFlightPerEndpoint: env.PARTNER_WEBHOOK_MAX_IN_FLIGHT ?? 8,
      maxInFlightPerPartner: env.PARTNER_WEBHOOK_MAX_IN_FLIGHT_PER_PARTNER ?? 16,
      concurrency: env.PARTNER_WEBHOOK_CONCURRENCY ?? 64,
      dispatchIntervalMs: env.PARTNER_WEBHOOK_DISPATCH_INTERVAL_MS ?? 500,
      retryBaseMs: retry.baseMs,
      retryCapMs: retry.capMs,
      retryWindowMs: retry.windowMs,
    },
  };
}
