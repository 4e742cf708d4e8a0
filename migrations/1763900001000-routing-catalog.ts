import { MigrationInterface, QueryRunner } from 'typeorm';

export class RoutingCatalog1763900001000 implements MigrationInterface {
  name = 'RoutingCatalog1763900001000';

  async up(_q: QueryRunner): Promise<void> {}

  async down(_q: QueryRunner): Promise<void> {}
}
