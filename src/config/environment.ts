import { plainToInstance, Transform } from 'class-transformer';
import {
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Length,
  Matches,
  Max,
  Min,
  MinLength,
  ValidationError,
  validateSync,
  ValidateBy,
} from 'class-validator';
import { isIP } from 'node:net';

/** An absolute http(s) URL that a path can be appended to (invoice QR codes print it). */
function isHttpBaseUrl(value: unknown): boolean {
  if (typeof value !== 'string' || !URL.canParse(value)) return false;
  const url = new URL(value);
  return (
    (url.protocol === 'http:' || url.protocol === 'https:') &&
    !url.search &&
    !url.hash &&
    !value.includes('#')
  );
}

/**
 * A hop count, or what the proxy-address check Fastify uses accepts: addresses, CIDR ranges (or IPv4 netmasks)
 * and the names of special ranges, comma-separated. Checked here, so a bad one stops the start naming the
 * variable rather than failing in the library.
 */
function isTrustedProxies(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  if (/^\d{1,2}$/.test(value)) return true;
  return value.split(',').every((item) => {
    const entry = item.trim();
    if (['loopback', 'linklocal', 'uniquelocal'].includes(entry)) return true;
    const [address, range, ...rest] = entry.split('/');
    const version = isIP(address);
    if (!version || rest.length) return false;
    if (range === undefined) return true;
    if (/^\d{1,3}$/.test(range)) return Number(range) >= 1 && Number(range) <= (version === 4 ? 32 : 128);
    return version === 4 && isIP(range) === 4;
  });
}

/**
 * WEBHOOK_TRUSTED_HOSTS: host names or address literals (IPv6 in brackets), each with a port unless it is the
 * scheme's default, comma-separated, each as a URL's host would read it (lower case, no scheme).
 */
function isHostList(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  return value.split(',').every((item) => {
    const host = item.trim();
    if (!host || !/^[a-z0-9.\-[\]:]+$/.test(host)) return false;
    try {
      return new URL(`http://${host}/`).host === host;
    } catch {
      return false;
    }
  });
}

/** The longest delay a Node timer holds: a longer one is cut to 1 ms, with a warning and nothing else. */
const TIMER_MAX_MS = 2_147_483_647;

/**
 * A whole number written in decimal digits (an optional sign): anything else, white space alone included (which
 * Number() reads as 0), an exponent, a hexadecimal literal or a value past 2^53, is NaN and fails `@IsInt()`.
 */
const toInt = ({ value }: { value: unknown }) => {
  if (value === undefined || value === '') return undefined;
  if (typeof value === 'number') return Number.isSafeInteger(value) ? value : Number.NaN;
  if (typeof value !== 'string' || !/^[+-]?\d+$/.test(value)) return Number.NaN;
  const number = Number(value);
  return Number.isSafeInteger(number) ? number : Number.NaN;
};

/** Empty as docker-compose passes a variable the operator did not set (`${NAME:-}`): unset. */
const emptyAsUnset = ({ value }: { value: unknown }) => (value === '' ? undefined : value);

/** The environment variables the service reads, each with its rule. Nothing else reads process.env. */
export class EnvironmentVariables {
  @IsOptional()
  @IsIn(['development', 'test', 'production'])
  NODE_ENV?: string;

  @IsOptional()
  @Matches(/^postgres(ql)?:\/\/.+/, { message: 'DATABASE_URL must be a postgres:// URL' })
  DATABASE_URL?: string;

  @IsOptional()
  @Matches(/^rediss?:\/\/.+/, { message: 'REDIS_URL must be a redis:// URL' })
  REDIS_URL?: string;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(65535)
  PORT?: number;

  @IsOptional()
  @IsIn(['api', 'worker', 'all'])
  ROLE?: string;

  @IsOptional()
  @IsString()
  @MinLength(16, { message: 'OPS_TOKEN must be at least 16 characters' })
  // Sent as "Authorization: Bearer <token>", which holds no white space: a token with some (a secret file's
  // trailing newline) would start and then refuse every ops request.
  @Matches(/^\S+$/, { message: 'OPS_TOKEN must not contain white space (a trailing newline, say)' })
  OPS_TOKEN?: string;

  @IsOptional()
  @Transform(emptyAsUnset)
  @IsString()
  @MinLength(16, { message: 'OPS_TOKEN_PREVIOUS must be at least 16 characters' })
  @Matches(/^\S+$/, { message: 'OPS_TOKEN_PREVIOUS must not contain white space (a trailing newline, say)' })
  OPS_TOKEN_PREVIOUS?: string;

  @IsOptional()
  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  LOG_LEVEL?: string;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  PARTNER_RATE_LIMIT_PER_SECOND?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  WEBHOOK_RATE_LIMIT_PER_SECOND?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  PUBLIC_RATE_LIMIT_PER_SECOND?: number;

  @IsOptional()
  @Matches(/^[A-Za-z0-9+/]{43}=$/, { message: 'SECRETS_KEY must be 32 bytes, base64' })
  SECRETS_KEY?: string;

  @IsOptional()
  @Transform(emptyAsUnset)
  @Matches(/^[A-Za-z0-9+/]{43}=(,[A-Za-z0-9+/]{43}=)*$/, {
    message: 'SECRETS_KEYS_DECRYPT_ONLY must be keys of 32 bytes, base64, separated by commas',
  })
  SECRETS_KEYS_DECRYPT_ONLY?: string;

  @IsOptional()
  @IsString()
  INVOICE_SIGNING_KEY_PEM?: string;

  @IsOptional()
  @IsString()
  INVOICE_SIGNING_KEY_FILE?: string;

  @IsOptional()
  @IsString()
  INVOICE_FONT_DIR?: string;

  @IsOptional()
  @ValidateBy({
    name: 'httpBaseUrl',
    validator: {
      validate: isHttpBaseUrl,
      defaultMessage: () =>
        'PUBLIC_BASE_URL must be an absolute http:// or https:// URL with no query or fragment',
    },
  })
  PUBLIC_BASE_URL?: string;

  @IsOptional()
  @ValidateBy({
    name: 'trustedProxies',
    validator: {
      validate: isTrustedProxies,
      defaultMessage: () =>
        'TRUST_PROXY is a number of proxy hops, or addresses, CIDR ranges or the names loopback, linklocal, uniquelocal, comma-separated',
    },
  })
  TRUST_PROXY?: string;

  @IsOptional()
  @Transform(emptyAsUnset)
  @ValidateBy({
    name: 'hostList',
    validator: {
      validate: isHostList,
      defaultMessage: () =>
        'WEBHOOK_TRUSTED_HOSTS is host names or address literals (IPv6 in brackets), each with its port unless the default, lower case, without scheme, comma-separated',
    },
  })
  WEBHOOK_TRUSTED_HOSTS?: string;

  @IsOptional()
  @IsString()
  @Matches(/^[a-z0-9:_-]+$/i, { message: 'QUEUE_PREFIX may hold letters, digits, ":", "_" and "-"' })
  QUEUE_PREFIX?: string;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  BREAKER_FAILURE_THRESHOLD?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1000)
  BREAKER_WINDOW_MS?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(100)
  BREAKER_COOLDOWN_MS?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(TIMER_MAX_MS)
  SWEEP_INTERVAL_MS?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(100)
  SWEEP_STALE_AFTER_MS?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(0)
  // A longer one would be cut to 1 ms, and the pass would run every millisecond.
  @Max(TIMER_MAX_MS)
  RECONCILE_INTERVAL_MS?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(60_000)
  @Max(31 * 24 * 60 * 60 * 1000)
  RECONCILE_LOOKBACK_MS?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(3650)
  FAILED_JOB_RETENTION_DAYS?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(0)
  RECONCILE_LAG_MS?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(TIMER_MAX_MS)
  RECONCILE_PROVIDER_TIMEOUT_MS?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(0)
  RETURN_CHECK_DELAY_MS?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(TIMER_MAX_MS)
  SEND_TIMEOUT_MS?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(TIMER_MAX_MS)
  SETTLE_POLL_INTERVAL_MS?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1000)
  HTTP_REQUEST_TIMEOUT_MS?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(TIMER_MAX_MS)
  SHUTDOWN_TIMEOUT_MS?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(10)
  @Max(TIMER_MAX_MS)
  REDIS_COMMAND_TIMEOUT_MS?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(0)
  PROVIDER_WAIT_MAX_MS?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(0)
  RETURN_WINDOW_MS?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  WORKER_CONCURRENCY?: number;

  @IsOptional()
  @IsString()
  @Length(1, 200)
  SANDBOX_SEED?: string;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(600000)
  SANDBOX_SETTLE_AFTER_MS?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1000)
  @Max(60000)
  PARTNER_WEBHOOK_TIMEOUT_MS?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  PARTNER_WEBHOOK_MAX_IN_FLIGHT?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  PARTNER_WEBHOOK_MAX_IN_FLIGHT_PER_PARTNER?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(1000)
  PARTNER_WEBHOOK_CONCURRENCY?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(50)
  @Max(TIMER_MAX_MS)
  PARTNER_WEBHOOK_DISPATCH_INTERVAL_MS?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  PARTNER_WEBHOOK_RETRY_BASE_MS?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  PARTNER_WEBHOOK_RETRY_CAP_MS?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  PARTNER_WEBHOOK_RETRY_WINDOW_MS?: number;
}

export class InvalidEnvironmentError extends Error {}

/** Validates the raw environment; throws one error that names every bad variable. */
export function validateEnvironment(raw: Record<string, string | undefined>): EnvironmentVariables {
  const env = plainToInstance(EnvironmentVariables, raw, { enableImplicitConversion: false });
  const errors = validateSync(env, { whitelist: false, forbidUnknownValues: false });
  if (errors.length > 0) {
    // A value that is not a whole number is said to be so, not also to be out of the range it cannot be in.
    const messages = (e: ValidationError) =>
      e.constraints?.isInt ? [e.constraints.isInt] : Object.values(e.constraints ?? {});
    const lines = errors.map((e) => `${e.property}: ${messages(e).join(', ')}`);
    throw new InvalidEnvironmentError(`Invalid environment variables: ${lines.join('; ')}`);
  }
  if (env.NODE_ENV === 'production' && !env.OPS_TOKEN) {
    throw new InvalidEnvironmentError(
      'Invalid environment variables: OPS_TOKEN is required when NODE_ENV=production',
    );
  }
  if (env.NODE_ENV === 'production' && !env.PUBLIC_BASE_URL) {
    // Printed in every invoice PDF's QR code, for a bank to verify it: a default of localhost verifies nothing.
    throw new InvalidEnvironmentError(
      'Invalid environment variables: PUBLIC_BASE_URL is required when NODE_ENV=production',
    );
  }
  if (env.NODE_ENV === 'production' && env.PUBLIC_BASE_URL && !servedSafely(env.PUBLIC_BASE_URL)) {
    // A bank following the QR code over plain http could be shown another answer than ours.
    throw new InvalidEnvironmentError(
      'Invalid environment variables: PUBLIC_BASE_URL must be https:// when NODE_ENV=production (http only for localhost)',
    );
  }
  if (env.NODE_ENV === 'production' && !env.SECRETS_KEY) {
    throw new InvalidEnvironmentError(
      'Invalid environment variables: SECRETS_KEY is required when NODE_ENV=production',
    );
  }
  if (
    env.NODE_ENV === 'production' &&
    env.PARTNER_WEBHOOK_RETRY_WINDOW_MS !== undefined &&
    env.PARTNER_WEBHOOK_RETRY_WINDOW_MS < 24 * 3600 * 1000
  ) {
    throw new InvalidEnvironmentError(
      'Invalid environment variables: PARTNER_WEBHOOK_RETRY_WINDOW_MS must be at least 24 hours in production',
    );
  }
  return env;
}

/** https, or http to this machine itself (the local demo of docker-compose). */
function servedSafely(url: string): boolean {
  const { protocol, hostname } = new URL(url);
  return protocol === 'https:' || ['localhost', '127.0.0.1', '[::1]'].includes(hostname);
}
