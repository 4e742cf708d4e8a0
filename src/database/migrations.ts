import { Partners1763900000000 } from '../../migrations/1763900000000-partners';
import { IdempotencyKeys1763900000100 } from '../../migrations/1763900000100-idempotency-keys';
import { Freelancers1763900000200 } from '../../migrations/1763900000200-freelancers';

/** Every migration, in order. Listed explicitly so the app, the CLI and the tests run the same set. */
export const MIGRATIONS = [Partners1763900000000, IdempotencyKeys1763900000100, Freelancers1763900000200];
