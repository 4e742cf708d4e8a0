import { MigrationInterface, QueryRunner } from 'typeorm';

export class SandboxTransfers1763900004000 implements MigrationInterface {
  name = 'SandboxTransfers1763900004000';

  async up(_q: QueryRunner): Promise<void> {}

  async down(_q: QueryRunner): Promise<void> {}
}
