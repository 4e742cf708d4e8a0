import { InvoiceView } from '../../src/invoices/invoice-view';
import type { IssueInvoiceInput } from '../../src/invoices/invoices.service';
import { MoneyDecimal } from '../../src/money/money';

/** What the invoices service is given to issue one: Ayesha Khan's 1250.00 USD export to Acme Inc (US). */
export function issueInput(
  ids: { payoutId: string; partnerId: string; freelancerId: string },
  overrides: Partial<IssueInvoiceInput> = {},
): IssueInvoiceInput {
  return {
    ...ids,
    exporter: {
      name: 'Ayesha Khan',
      cnic: '35202-1234567-1',
      ntn: '1234567-8',
      psebRegistrationNo: 'PSEB-F-12345',
    },
    client: { name: 'Acme Inc', country: 'US' },
    description: 'Web development, milestone 3',
    serviceCategory: 'software_development',
    gross: new MoneyDecimal('1250.00'),
    currency: 'USD',
    issuedAt: new Date('2026-11-21T10:00:00Z'),
    ...overrides,
  };
}

/** A realized invoice with every optional part present, for renderer tests. */
export function sampleInvoice(overrides: Partial<InvoiceView> = {}): InvoiceView {
  return {
    id: '0b9a3c4e-2f1d-4a5b-8c6d-7e8f9a0b1c2d',
    number: 'INV-2026-000042',
    issuedAt: '2026-11-21T10:00:00.000Z',
    exporter: {
      name: 'Ayesha Khan',
      cnic: '35202-1234567-1',
      ntn: '1234567-8',
      psebRegistrationNo: 'PSEB-F-12345',
    },
    client: { name: 'Acme & Sons <Inc>', country: 'US' },
    lines: [
      {
        description: 'Web development, milestone 3',
        serviceCategory: 'software_development',
        amount: '1250.00',
      },
    ],
    currency: 'USD',
    gross: '1250.00',
    routingFees: '51.25',
    netRealized: '1198.75',
    purposeCode: '9186',
    fx: { pair: 'USD-PKR', rate: '278.45', asOf: '2026-11-21' },
    pkrEquivalent: '333791.94',
    esfcaRetained: '1198.75',
    realizedAt: '2026-11-22T06:30:00.000Z',
    exportStatus: 'prc_issued',
    statusHistory: [
      {
        status: 'awaiting_proceeds',
        at: '2026-11-21T10:00:00.000Z',
        detail: 'issued when the payout was routed',
      },
      {
        status: 'proceeds_realized',
        at: '2026-11-22T06:30:00.000Z',
        detail: 'USD 1198.75 credited via payoneer-usd',
      },
      {
        status: 'prc_issued',
        at: '2026-11-23T09:00:00.000Z',
        detail: 'e-PRC PRC-77 issued by Meezan Bank on 2026-11-23',
      },
    ],
    payoutId: '5f0e1d2c-3b4a-4596-8877-665544332211',
    freelancerId: '7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d',
    route: { routeId: 'payoneer-usd', provider: 'payoneer', rail: 'payoneer_wallet' },
    prc: { prcNumber: 'PRC-77', issuedAt: '2026-11-23T00:00:00.000Z', bank: 'Meezan Bank' },
    sha256: 'ab'.repeat(32),
    signature: 'c2lnbmF0dXJl'.repeat(7),
    ...overrides,
  };
}

/** Pending: issued, nothing realized yet. */
export function pendingInvoice(overrides: Partial<InvoiceView> = {}): InvoiceView {
  return sampleInvoice({
    routingFees: null,
    netRealized: null,
    fx: null,
    pkrEquivalent: null,
    esfcaRetained: null,
    realizedAt: null,
    exportStatus: 'awaiting_proceeds',
    statusHistory: [
      {
        status: 'awaiting_proceeds',
        at: '2026-11-21T10:00:00.000Z',
        detail: 'issued when the payout was routed',
      },
    ],
    route: null,
    prc: null,
    ...overrides,
  });
}
