import { generateKeyPairSync } from 'node:crypto';
import { DataSource } from 'typeorm';
import {
  insertConnection,
  insertFreelancer,
  insertPartner,
  insertPayout,
} from '../../test/support/payout-rows';
import { issueInput } from '../../test/support/invoice-fixtures';
import { Clock } from '../common/clock';
import { loadConfig } from '../config/app-config';
import { dataSourceOptions } from '../database/data-source-options';
import { createDatabaseIfMissing, dropDatabase, runMigrations } from '../database/prepare-database';
import { MoneyDecimal } from '../money/money';
import { IdempotencyService } from '../partners/idempotency.service';
import { FxRatesService } from './fx-rates.service';
import { InvoiceDocumentsService } from './invoice-documents.service';
import { InvoiceSigner } from './invoice-signer.service';
import { renderInvoiceUbl } from './invoice-ubl';
import { InvoicesService } from './invoices.service';

/**
 * CONTRACT §2/§3: `asOf` is a date `"2026-11-21"`; UBL's
 * cbc:Date is an xsd:date. The service reads dates back with `date::text`, whose output follows the session's
 * DateStyle: a Postgres whose DBA set DateStyle = 'SQL, DMY' (the day-first style Pakistan writes dates in)
 * would make every fx.asOf "21/11/2026"; the app pins ISO on each connection.
 */
/* eslint-disable no-restricted-properties -- the test sets libpq's PGOPTIONS, as a server default would be, not app configuration */
describe('dates read back from Postgres, whatever the server DateStyle', () => {
  let db: DataSource;
  let fxRates: FxRatesService;
  let documents: InvoiceDocumentsService;
  let invoices: InvoicesService;
  const pgOptions = process.env.PGOPTIONS;
  // A database of its own: the rate this test records must not fill other suites' invoices.
  const url = new URL(loadConfig().databaseUrl);
  url.pathname = `${url.pathname}_datestyle`;
  const databaseUrl = url.toString();

  beforeAll(async () => {
    await createDatabaseIfMissing(databaseUrl);
    await runMigrations(databaseUrl);
    // The server's default, as `ALTER DATABASE … SET DateStyle = 'SQL, DMY'` or postgresql.conf would set it: libpq's
    // PGOPTIONS reaches every new session the same way, and a connection option the app sets itself still wins.
    process.env.PGOPTIONS = '-c DateStyle=SQL,DMY';
    const pem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const config = { ...loadConfig(), databaseUrl, invoiceSigningKeyPem: pem };
    db = new DataSource(dataSourceOptions(config.databaseUrl));
    await db.initialize();
    const signer = new InvoiceSigner(config);
    fxRates = new FxRatesService(db, new Clock());
    documents = new InvoiceDocumentsService(db, signer, config);
    invoices = new InvoicesService(db, signer, documents, new Clock(), new IdempotencyService(db));
  });

  afterAll(async () => {
    if (pgOptions === undefined) delete process.env.PGOPTIONS;
    else process.env.PGOPTIONS = pgOptions;
    await db.destroy();
    await dropDatabase(databaseUrl);
  });

  it('issues and realizes invoices, and answers fx.asOf as YYYY-MM-DD, whatever the server DateStyle', async () => {
    const put = await fxRates.put({ rate: '278.45', asOf: '2024-03-04' });

    const partnerId = await insertPartner(db);
    const freelancerId = await insertFreelancer(db, partnerId);
    const connectionId = await insertConnection(db, partnerId);
    const payoutId = await insertPayout(db, { partnerId, freelancerId, connectionId });
    const { invoiceId } = await db.transaction((tx) =>
      invoices.issueForPayout(
        tx,
        issueInput({ payoutId, partnerId, freelancerId }, { issuedAt: new Date('2024-03-04T05:00:00Z') }),
      ),
    );
    await db.transaction((tx) =>
      invoices.markRealized(tx, {
        payoutId,
        realizedAt: new Date('2024-03-05T06:00:00Z'),
        route: { routeId: 'payoneer-usd-bank', provider: 'payoneer', rail: 'payoneer' },
        routingFees: new MoneyDecimal('51.25'),
        netRealized: new MoneyDecimal('1198.75'),
      }),
    );
    const invoice = await documents.get(partnerId, invoiceId);
    const ublDate = /<cbc:Date>([^<]*)<\/cbc:Date>/.exec(renderInvoiceUbl(invoice))?.[1];
    // Without the pin: '04/03/2024' everywhere, not an xsd:date.
    expect({ put: put.asOf, invoice: invoice.fx?.asOf, ubl: ublDate }).toEqual({
      put: '2024-03-04',
      invoice: '2024-03-04',
      ubl: '2024-03-04',
    });
  });
});
