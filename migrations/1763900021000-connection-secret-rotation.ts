import { MigrationInterface, QueryRunner } from 'typeorm';
import { addSecretRotation, dropSecretRotation, RotatedSecretTables } from './secret-rotation';

const TABLES: RotatedSecretTables = {
  table: 'platform_connections',
  rotations: 'platform_connection_rotations',
  ownerColumn: 'connection_id',
};

/**
 * A platform connection's signing secret can be rotated. The secrets it replaces keep verifying until their
 * expiry (`previous_secrets`), so the platform can move to the new one without a window of refused webhooks.
 * Outside a transaction (see addSecretRotation).
 */
export class ConnectionSecretRotation1763900021000 implements MigrationInterface {
  name = 'ConnectionSecretRotation1763900021000';
  transaction = false;

  up(q: QueryRunner): Promise<void> {
    return addSecretRotation(q, TABLES);
  }

  down(q: QueryRunner): Promise<void> {
    return dropSecretRotation(q, TABLES);
  }
}
