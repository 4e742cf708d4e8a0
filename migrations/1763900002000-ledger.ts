import { MigrationInterface, QueryRunner } from 'typeorm';

export class Ledger1763900002000 implements MigrationInterface {
  name = 'Ledger1763900002000';

  async up(_q: QueryRunner): Promise<void> {}

  async down(_q: QueryRunner): Promise<void> {}
}
