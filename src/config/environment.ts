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
  validateSync,
} from 'class-validator';

const toInt = ({ value }: { value: unknown }) =>
  value === undefined || value === '' ? undefined : Number(value);

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
  OPS_TOKEN?: string;

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
  @IsString()
  INVOICE_SIGNING_KEY_PEM?: string;

  @IsOptional()
  @IsString()
  INVOICE_SIGNING_KEY_FILE?: string;

  @IsOptional()
  @IsString()
  INVOICE_FONT_DIR?: string;

  @IsOptional()
  @IsString()
  PUBLIC_BASE_URL?: string;

  @IsOptional()
  @Matches(/^(\d{1,2}|[\w.:/]+(,\s*[\w.:/]+)*)$/, {
    message:
      'TRUST_PROXY is a number of proxy hops, or addresses, CIDR ranges or the names loopback, linklocal, uniquelocal, comma-separated',
  })
  TRUST_PROXY?: string;

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
  RETURN_CHECK_DELAY_MS?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(100)
  SEND_TIMEOUT_MS?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1000)
  HTTP_REQUEST_TIMEOUT_MS?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(10)
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
    const lines = errors.map((e) => `${e.property}: ${Object.values(e.constraints ?? {}).join(', ')}`);
    throw new InvalidEnvironmentError(`Invalid environment variables: ${lines.join('; ')}`);
  }
  if (env.NODE_ENV === 'production' && !env.OPS_TOKEN) {
    throw new InvalidEnvironmentError(
      'Invalid environment variables: OPS_TOKEN is required when NODE_ENV=production',
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
