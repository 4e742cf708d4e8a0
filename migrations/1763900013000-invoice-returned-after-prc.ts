import { MigrationInterface, QueryRunner } from 'typeorm';

const PRC_COLUMNS_TOGETHER = `(prc_number IS NULL) = (prc_issued_at IS NULL)
  AND (prc_number IS NULL) = (prc_bank IS NULL)
  AND (prc_number IS NULL) = (prc_recorded_at IS NULL)`;

/**
 * Money returned by the provider after the bank's e-PRC was recorded: the invoice's proceeds have failed, and its
 * e-PRC stays on record (it was issued, and is recorded once). So an invoice with an e-PRC is `prc_issued`, or
 * `proceeds_failed` after a return; `prc_issued` still always has one.
 *
 * Outside a transaction, as the webhook link migration: the rule is added unchecked (a short lock), then the
 * existing rows are checked under a lock that lets the pipeline go on writing. Each step can run again.
 */
export class InvoiceReturnedAfterPrc1763900013000 implements MigrationInterface {
  name = 'InvoiceReturnedAfterPrc1763900013000';
  transaction = false;

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE invoices DROP CONSTRAINT IF EXISTS invoices_prc_status`);
    await q.query(
      `ALTER TABLE invoices ADD CONSTRAINT invoices_prc_status CHECK (
         (export_status <> 'prc_issued' OR prc_number IS NOT NULL)
         AND (prc_number IS NULL OR export_status IN ('prc_issued', 'proceeds_failed'))
         AND ${PRC_COLUMNS_TOGETHER}) NOT VALID`,
    );
    await q.query(`ALTER TABLE invoices VALIDATE CONSTRAINT invoices_prc_status`);
  }

  /** Refused while an invoice with an e-PRC has failed proceeds: the narrower rule cannot hold for it. */
  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE invoices DROP CONSTRAINT IF EXISTS invoices_prc_status`);
    await q.query(
      `ALTER TABLE invoices ADD CONSTRAINT invoices_prc_status CHECK (
         (export_status = 'prc_issued') = (prc_number IS NOT NULL) AND ${PRC_COLUMNS_TOGETHER})`,
    );
  }
}
