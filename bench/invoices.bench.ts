/**
 * `npm run bench -- invoices [--invoices N] [--concurrency C] [--pdfs M]`: export invoices issued per second on
 * a fresh database of its own (payout row lock, gapless counter, canonical JSON, SHA-256, Ed25519, the invoice
 * and its signed status event, each in its own transaction), and PDF renders per second. Baselines, measured in
 * the same run: bare Ed25519 signatures of a hex digest, and a minimal one-line pdfkit document.
 */
import { generateKeyPairSync, sign } from 'node:crypto';
import PDFDocument from 'pdfkit';
import { DataSource } from 'typeorm';
import { Clock } from '../src/common/clock';
import { loadConfig } from '../src/config/app-config';
import { dataSourceOptions } from '../src/database/data-source-options';
import { dropDatabase } from '../src/database/prepare-database';
import { InvoiceDocumentsService } from '../src/invoices/invoice-documents.service';
import { loadInvoiceFonts } from '../src/invoices/invoice-fonts';
import { renderInvoicePdf } from '../src/invoices/invoice-pdf';
import { sha256Hex } from '../src/invoices/invoice-signature';
import { InvoiceSigner } from '../src/invoices/invoice-signer.service';
import { renderInvoiceUbl } from '../src/invoices/invoice-ubl';
import { IdempotencyService } from '../src/partners/idempotency.service';
import { InvoicesService } from '../src/invoices/invoices.service';
import { issueInput } from '../test/support/invoice-fixtures';
import { perSecond, rate } from './support/figures';
import { positiveIntegerOption } from './support/options';
import { createMigratedDatabase, scratchNames } from './support/scratch';

interface Fixture {
  partnerId: string;
  connectionId: string;
  freelancerIds: string[];
}

async function fixture(db: DataSource, freelancers: number): Promise<Fixture> {
  const [{ id: partnerId }] = await db.query(`INSERT INTO partners (name) VALUES ('bench') RETURNING id`);
  const [{ id: connectionId }] = await db.query(
    `INSERT INTO platform_connections (partner_id, platform, scheme, secret_ciphertext)
     VALUES ($1, 'upwork', 'standard-webhooks', '\\x00') RETURNING id`,
    [partnerId],
  );
  const rows = await db.query(
    `INSERT INTO freelancers (partner_id, external_ref, name, cnic, ntn, pseb_registration_no)
     SELECT $1, 'bench-' || n, 'Ayesha Khan', '35202-1234567-1', '1234567-8', 'PSEB-F-12345'
     FROM generate_series(1, $2) AS n RETURNING id`,
    [partnerId, freelancers],
  );
  return { partnerId, connectionId, freelancerIds: rows.map((r: { id: string }) => r.id) };
}

/** Payouts are written before the clock starts: only issuing is measured. */
async function payouts(db: DataSource, f: Fixture, count: number, freelancerOf: (i: number) => string) {
  const ids: Array<{ id: string; freelancerId: string }> = [];
  for (let start = 0; start < count; start += 500) {
    const batch = Array.from({ length: Math.min(500, count - start) }, (_, k) => freelancerOf(start + k));
    const rows = await db.query(
      `INSERT INTO payouts (partner_id, connection_id, platform, platform_payout_id, source_event_id, freelancer_ref,
                            freelancer_id, gross, currency, client_name, client_country, description,
                            service_category, status)
       SELECT $1, $2, 'upwork', gen_random_uuid()::text, gen_random_uuid(), 'bench', f, 1250.00, 'USD', 'Acme Inc',
              'US', 'Web development, milestone 3', 'software_development', 'routed'
       FROM unnest($3::uuid[]) AS f RETURNING id, freelancer_id`,
      [f.partnerId, f.connectionId, batch],
    );
    ids.push(
      ...rows.map((r: { id: string; freelancer_id: string }) => ({
        id: r.id,
        freelancerId: r.freelancer_id,
      })),
    );
  }
  return ids;
}

function minimalPdf(): Promise<Buffer> {
  return new Promise((resolve) => {
    const doc = new PDFDocument({ size: 'A4' });
    const chunks: Buffer[] = [];
    doc.on('data', (c: Buffer) => chunks.push(c));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.text('INV-2026-000001');
    doc.end();
  });
}

export async function run(args: string[]): Promise<void> {
  const count = positiveIntegerOption(args, 'invoices', 1000);
  const concurrency = positiveIntegerOption(args, 'concurrency', 8);
  const pdfs = positiveIntegerOption(args, 'pdfs', 200);
  const { databaseUrl } = scratchNames('invoices');
  await createMigratedDatabase(databaseUrl);
  const db = new DataSource({ ...dataSourceOptions(databaseUrl), extra: { max: concurrency + 2 } });
  try {
    await db.initialize();
    const { privateKey } = generateKeyPairSync('ed25519');
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const config = { ...loadConfig({ DATABASE_URL: databaseUrl }), invoiceSigningKeyPem: pem };
    const signer = new InvoiceSigner(config);
    const documents = new InvoiceDocumentsService(db, signer, config);
    const invoices = new InvoicesService(db, signer, documents, new Clock(), new IdempotencyService(db));

    const f = await fixture(db, 200);
    const many = (i: number) => f.freelancerIds[i % f.freelancerIds.length];
    const warm = await payouts(db, f, 100, many);
    const sequentialIds = await payouts(db, f, count, many);
    const concurrentIds = await payouts(db, f, count * 2, many);
    const oneFreelancerIds = await payouts(db, f, count, () => f.freelancerIds[0]);
    const issue = (batch: Array<{ id: string; freelancerId: string }>) => (i: number) =>
      db.transaction((tx) =>
        invoices.issueForPayout(
          tx,
          issueInput(
            { payoutId: batch[i].id, partnerId: f.partnerId, freelancerId: batch[i].freelancerId },
            { issuedAt: new Date() },
          ),
        ),
      );

    await perSecond(warm.length, 1, issue(warm));
    const sequential = await perSecond(count, 1, issue(sequentialIds));
    const concurrent = await perSecond(count * 2, concurrency, issue(concurrentIds));
    const oneFreelancer = await perSecond(count, concurrency, issue(oneFreelancerIds));
    const digest = sha256Hex('bench');
    const signatures = await perSecond(20_000, 1, () => sign(null, Buffer.from(digest, 'utf8'), privateKey));
    const seals = await perSecond(20_000, 1, () =>
      signer.seal({ number: 'INV-2026-000001', gross: '1250.00' }),
    );

    const [{ id }] = await db.query(`SELECT id FROM invoices ORDER BY created_at LIMIT 1`);
    const invoice = await documents.get(f.partnerId, id);
    const verifyUrl = documents.verifyUrl(id);
    const fonts = loadInvoiceFonts(config.invoiceFonts.dir);
    await perSecond(20, 1, () => renderInvoicePdf(invoice, verifyUrl, fonts));
    await perSecond(20, 1, () => renderInvoicePdf(invoice, verifyUrl));
    await perSecond(20, 1, minimalPdf);
    const pdf = await perSecond(pdfs, 1, () => renderInvoicePdf(invoice, verifyUrl, fonts));
    const standardFontsPdf = await perSecond(pdfs, 1, () => renderInvoicePdf(invoice, verifyUrl));
    const minimal = await perSecond(pdfs, 1, minimalPdf);
    const ubl = await perSecond(5_000, 1, () => renderInvoiceUbl(invoice));
    const pdfBytes = (await renderInvoicePdf(invoice, verifyUrl, fonts)).length;
    const [{ gaps }] = await db.query(
      `SELECT count(*)::int AS gaps FROM (
         SELECT seq - lag(seq) OVER (PARTITION BY freelancer_id, year ORDER BY seq) AS step FROM invoices
       ) s WHERE step <> 1`,
    );

    process.stdout.write(
      [
        `invoices issued (Postgres at ${new URL(databaseUrl).host}; each in its own transaction, signing included)`,
        `  sequential                  ${String(count).padStart(6)}  ${rate(sequential, 7)}`,
        `  ${`${concurrency} concurrent, 200 exporters`.padEnd(27)} ${String(count * 2).padStart(6)}  ${rate(concurrent, 7)}`,
        `  ${`${concurrency} concurrent, one exporter`.padEnd(27)} ${String(count).padStart(6)}  ${rate(oneFreelancer, 7)}  (one counter row: numbers serialize)`,
        `  numbering gaps found: ${gaps}`,
        `  baseline: bare Ed25519 signature of a hex digest ${rate(signatures, 7)}; canonical JSON + SHA-256 + Ed25519 ${rate(seals, 7)}`,
        `PDF renders (${(pdfBytes / 1024).toFixed(1)} KiB each, QR code and history included)`,
        `  invoice PDF, DejaVu Sans    ${String(pdfs).padStart(6)}  ${rate(pdf, 7)}`,
        `  the same, standard fonts    ${String(pdfs).padStart(6)}  ${rate(standardFontsPdf, 7)}  (Windows-1252 only: the fallback without INVOICE_FONT_DIR)`,
        `  baseline: one-line pdfkit   ${String(pdfs).padStart(6)}  ${rate(minimal, 7)}  (invoice ${(minimal / pdf).toFixed(1)}x slower)`,
        `UBL 2.1 XML renders             5000  ${rate(ubl, 7)}`,
        '',
      ].join('\n'),
    );
  } finally {
    if (db.isInitialized) await db.destroy();
    await dropDatabase(databaseUrl);
  }
}
