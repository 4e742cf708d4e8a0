import { MigrationInterface, QueryRunner } from 'typeorm';
import { addSecretRotation, dropSecretRotation, RotatedSecretTables } from './secret-rotation';

const TABLES: RotatedSecretTables = {
  table: 'webhook_endpoints',
  rotations: 'webhook_endpoint_rotations',
  ownerColumn: 'endpoint_id',
};

/**
 * A partner's webhook endpoint secret can be rotated, as a platform connection's can: while the secret it replaces
 * has not expired, every delivery is signed with both, so the partner's receiver verifies it whichever secret it
 * holds. Outside a transaction (see addSecretRotation).
 */
export class EndpointSecretRotation1763900022000 implements MigrationInterface {
  name = 'EndpointSecretRotation1763900022000';
  transaction = false;

  up(q: QueryRunner): Promise<void> {
    return addSecretRotation(q, TABLES);
  }

  down(q: QueryRunner): Promise<void> {
    return dropSecretRotation(q, TABLES);
  }
}
