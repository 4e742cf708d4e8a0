import { InvoiceView } from './invoice-view';
import { PURPOSE_CODE_DESCRIPTIONS, pakistanDate } from './pakistan-export';
import { statusLabel } from './invoice-text';

const NAMESPACES = [
  'xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"',
  'xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"',
  'xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"',
].join(' ');

/** Characters XML 1.0 cannot carry at all, even escaped. */
const NOT_XML = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

export function escapeXml(text: string): string {
  return (
    text
      .replace(NOT_XML, '\uFFFD')
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;')
      .replace(/'/g, '&apos;')
      // As character references, or a parser would read a carriage return as a line feed, and an attribute's tab
      // or line break as a space: the document keeps the invoice's text exactly.
      .replace(/[\t\n\r]/g, (c) => `&#${c.charCodeAt(0)};`)
  );
}

type Attributes = Record<string, string>;
type Node = string;

function element(name: string, content: string | Node[], attributes: Attributes = {}): Node {
  const attrs = Object.entries(attributes)
    .map(([key, value]) => ` ${key}="${escapeXml(value)}"`)
    .join('');
  const body = typeof content === 'string' ? escapeXml(content) : content.join('');
  return `<${name}${attrs}>${body}</${name}>`;
}

const cbc = (name: string, value: string, attributes?: Attributes) =>
  element(`cbc:${name}`, value, attributes);
const cac = (name: string, children: Node[]) => element(`cac:${name}`, children);
const usd = (name: string, amount: string) => cbc(name, amount, { currencyID: 'USD' });

/** Zero-rated export of services: tax category "G" (export outside the tax territory), 0%. */
function exportTaxCategory(tag: 'TaxCategory' | 'ClassifiedTaxCategory', withReason: boolean): Node {
  return cac(tag, [
    cbc('ID', 'G'),
    cbc('Percent', '0'),
    ...(withReason
      ? [cbc('TaxExemptionReason', 'Export of services from Pakistan; no sales tax charged')]
      : []),
    cac('TaxScheme', [cbc('ID', 'VAT')]),
  ]);
}

function supplier(invoice: InvoiceView): Node {
  const e = invoice.exporter;
  const identifications = [
    cac('PartyIdentification', [cbc('ID', e.cnic, { schemeName: 'CNIC' })]),
    ...(e.psebRegistrationNo
      ? [cac('PartyIdentification', [cbc('ID', e.psebRegistrationNo, { schemeName: 'PSEB' })])]
      : []),
  ];
  return cac('AccountingSupplierParty', [
    cac('Party', [
      ...identifications,
      cac('PartyName', [cbc('Name', e.name)]),
      cac('PostalAddress', [cac('Country', [cbc('IdentificationCode', 'PK')])]),
      ...(e.ntn
        ? [
            cac('PartyTaxScheme', [
              cbc('CompanyID', e.ntn, { schemeName: 'NTN' }),
              cac('TaxScheme', [cbc('ID', 'Income tax')]),
            ]),
          ]
        : []),
      cac('PartyLegalEntity', [cbc('RegistrationName', e.name)]),
    ]),
  ]);
}

function customer(invoice: InvoiceView): Node {
  return cac('AccountingCustomerParty', [
    cac('Party', [
      cac('PartyName', [cbc('Name', invoice.client.name)]),
      cac('PostalAddress', [cac('Country', [cbc('IdentificationCode', invoice.client.country)])]),
      cac('PartyLegalEntity', [cbc('RegistrationName', invoice.client.name)]),
    ]),
  ]);
}

function documentReferences(invoice: InvoiceView): Node[] {
  const references = [
    cac('AdditionalDocumentReference', [
      cbc('ID', invoice.sha256, { schemeName: 'SHA-256' }),
      cbc('DocumentType', 'SHA-256 of the RFC 8785 canonical JSON of the issued part'),
      cbc('DocumentDescription', `Ed25519 signature (base64): ${invoice.signature}`),
    ]),
  ];
  if (invoice.prc) {
    references.push(
      cac('AdditionalDocumentReference', [
        cbc('ID', invoice.prc.prcNumber),
        cbc('IssueDate', pakistanDate(new Date(invoice.prc.issuedAt))),
        cbc('DocumentType', 'e-PRC'),
        cbc('DocumentDescription', `Proceeds Realization Certificate issued by ${invoice.prc.bank}`),
      ]),
    );
  }
  return references;
}

function exchangeRate(invoice: InvoiceView): Node[] {
  if (!invoice.fx) return [];
  return [
    cac('PaymentExchangeRate', [
      cbc('SourceCurrencyCode', 'USD'),
      cbc('TargetCurrencyCode', 'PKR'),
      cbc('CalculationRate', invoice.fx.rate),
      cbc('MathematicOperatorCode', 'Multiply'),
      cbc('Date', invoice.fx.asOf),
    ]),
  ];
}

function notes(invoice: InvoiceView): Node[] {
  const lines = [
    `Export of services. SBP purpose code ${invoice.purposeCode}: ${PURPOSE_CODE_DESCRIPTIONS[invoice.purposeCode]}.`,
    `Export status: ${statusLabel(invoice.exportStatus)} (${invoice.exportStatus}).`,
  ];
  if (invoice.netRealized && invoice.route) {
    lines.push(
      `Realized USD ${invoice.netRealized} via ${invoice.route.routeId} after routing fees of USD ${invoice.routingFees}.`,
    );
  }
  if (invoice.pkrEquivalent) lines.push(`PKR equivalent: ${invoice.pkrEquivalent}.`);
  return lines.map((text) => cbc('Note', text));
}

/**
 * The invoice as UBL 2.1 (OASIS), elements in the schema's order: ID, IssueDate, supplier and customer parties,
 * a zero-rated export tax total, LegalMonetaryTotal and the invoice line with its SBP purpose code.
 */
export function renderInvoiceUbl(invoice: InvoiceView): string {
  const gross = invoice.gross;
  const body = [
    cbc('UBLVersionID', '2.1'),
    cbc('ID', invoice.number),
    cbc('UUID', invoice.id),
    cbc('IssueDate', pakistanDate(new Date(invoice.issuedAt))),
    cbc('InvoiceTypeCode', '380', { listID: 'UNCL1001' }),
    ...notes(invoice),
    cbc('DocumentCurrencyCode', invoice.currency),
    ...documentReferences(invoice),
    supplier(invoice),
    customer(invoice),
    cac('PaymentMeans', [cbc('PaymentMeansCode', '30'), cbc('PaymentID', invoice.payoutId)]),
    ...exchangeRate(invoice),
    cac('TaxTotal', [
      usd('TaxAmount', '0.00'),
      cac('TaxSubtotal', [
        usd('TaxableAmount', gross),
        usd('TaxAmount', '0.00'),
        exportTaxCategory('TaxCategory', true),
      ]),
    ]),
    cac('LegalMonetaryTotal', [
      usd('LineExtensionAmount', gross),
      usd('TaxExclusiveAmount', gross),
      usd('TaxInclusiveAmount', gross),
      usd('PayableAmount', gross),
    ]),
    ...invoice.lines.map((line, index) =>
      cac('InvoiceLine', [
        cbc('ID', String(index + 1)),
        cbc('InvoicedQuantity', '1', { unitCode: 'C62' }),
        usd('LineExtensionAmount', line.amount),
        cbc('PaymentPurposeCode', invoice.purposeCode),
        cac('Item', [
          cbc('Description', line.description),
          cbc('Name', line.serviceCategory),
          cac('OriginCountry', [cbc('IdentificationCode', 'PK')]),
          cac('CommodityClassification', [
            cbc('ItemClassificationCode', invoice.purposeCode, { listName: 'SBP purpose code' }),
          ]),
          exportTaxCategory('ClassifiedTaxCategory', false),
        ]),
        cac('Price', [usd('PriceAmount', line.amount), cbc('BaseQuantity', '1', { unitCode: 'C62' })]),
      ]),
    ),
  ];
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Invoice ${NAMESPACES}>${body.join('')}</Invoice>\n`;
}
