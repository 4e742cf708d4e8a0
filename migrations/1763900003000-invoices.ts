import { MigrationInterface, QueryRunner } from 'typeorm';

export class Invoices1763900003000 implements MigrationInterface {
  name = 'Invoices1763900003000';

  async up(_q: QueryRunner): Promise<void> {}

  async down(_q: QueryRunner): Promise<void> {}
}
