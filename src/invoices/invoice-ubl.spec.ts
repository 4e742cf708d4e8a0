import { XMLParser } from 'fast-xml-parser';
import { pendingInvoice, sampleInvoice } from '../../test/support/invoice-fixtures';
import { escapeXml, renderInvoiceUbl } from './invoice-ubl';

const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@', parseTagValue: false });

function parse(xml: string) {
  return parser.parse(xml).Invoice;
}

describe(renderInvoiceUbl.name, () => {
  it('is a UBL 2.1 Invoice with its id, date, parties, zero-rated export tax, totals and line', () => {
    const invoice = sampleInvoice();
    const xml = renderInvoiceUbl(invoice);
    expect(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>')).toBe(true);
    const doc = parse(xml);
    expect(doc['@xmlns']).toBe('urn:oasis:names:specification:ubl:schema:xsd:Invoice-2');
    expect(doc['cbc:UBLVersionID']).toBe('2.1');
    expect(doc['cbc:ID']).toBe('INV-2026-000042');
    expect(doc['cbc:UUID']).toBe(invoice.id);
    expect(doc['cbc:IssueDate']).toBe('2026-11-21');
    expect(doc['cbc:InvoiceTypeCode']['#text']).toBe('380');
    expect(doc['cbc:DocumentCurrencyCode']).toBe('USD');

    const supplier = doc['cac:AccountingSupplierParty']['cac:Party'];
    expect(supplier['cac:PartyName']['cbc:Name']).toBe('Ayesha Khan');
    expect(
      supplier['cac:PartyIdentification'].map((p: { 'cbc:ID': { '#text': string } }) => p['cbc:ID']['#text']),
    ).toEqual(['35202-1234567-1', 'PSEB-F-12345']);
    expect(supplier['cac:PartyTaxScheme']['cbc:CompanyID']['#text']).toBe('1234567-8');
    expect(supplier['cac:PostalAddress']['cac:Country']['cbc:IdentificationCode']).toBe('PK');

    const customer = doc['cac:AccountingCustomerParty']['cac:Party'];
    expect(customer['cac:PartyName']['cbc:Name']).toBe('Acme & Sons <Inc>');
    expect(customer['cac:PostalAddress']['cac:Country']['cbc:IdentificationCode']).toBe('US');

    const tax = doc['cac:TaxTotal'];
    expect(tax['cbc:TaxAmount']).toEqual({ '#text': '0.00', '@currencyID': 'USD' });
    expect(tax['cac:TaxSubtotal']['cbc:TaxableAmount']['#text']).toBe('1250.00');
    expect(tax['cac:TaxSubtotal']['cac:TaxCategory']['cbc:Percent']).toBe('0');
    expect(tax['cac:TaxSubtotal']['cac:TaxCategory']['cbc:TaxExemptionReason']).toMatch(/Export of services/);

    const totals = doc['cac:LegalMonetaryTotal'];
    for (const name of ['LineExtensionAmount', 'TaxExclusiveAmount', 'TaxInclusiveAmount', 'PayableAmount']) {
      expect(totals[`cbc:${name}`]).toEqual({ '#text': '1250.00', '@currencyID': 'USD' });
    }

    const line = doc['cac:InvoiceLine'];
    expect(line['cbc:ID']).toBe('1');
    expect(line['cbc:LineExtensionAmount']['#text']).toBe('1250.00');
    expect(line['cbc:PaymentPurposeCode']).toBe('9186');
    expect(line['cac:Item']['cbc:Description']).toBe('Web development, milestone 3');
    expect(line['cac:Item']['cbc:Name']).toBe('software_development');
    expect(line['cac:Price']['cbc:PriceAmount']['#text']).toBe('1250.00');

    expect(doc['cac:PaymentExchangeRate']['cbc:CalculationRate']).toBe('278.45');
    expect(doc['cac:PaymentMeans']['cbc:PaymentID']).toBe(invoice.payoutId);
    const references = doc['cac:AdditionalDocumentReference'];
    expect(references[0]['cbc:ID']['#text']).toBe(invoice.sha256);
    expect(references[1]['cbc:ID']).toBe('PRC-77');
  });

  it('keeps the sum of lines equal to the payable amount', () => {
    const doc = parse(renderInvoiceUbl(pendingInvoice()));
    const lines = [doc['cac:InvoiceLine']].flat();
    const lineTotal = lines.map((l) => l['cbc:LineExtensionAmount']['#text']);
    expect(lineTotal).toEqual([doc['cac:LegalMonetaryTotal']['cbc:PayableAmount']['#text']]);
    expect(doc['cac:PaymentExchangeRate']).toBeUndefined();
  });

  it('leaves out the NTN and PSEB number the exporter does not have', () => {
    const exporter = { ...sampleInvoice().exporter, ntn: null, psebRegistrationNo: null };
    const party = parse(renderInvoiceUbl(pendingInvoice({ exporter })))['cac:AccountingSupplierParty'][
      'cac:Party'
    ];
    expect(party['cac:PartyTaxScheme']).toBeUndefined();
    expect(party['cac:PartyIdentification']['cbc:ID']['#text']).toBe('35202-1234567-1');
  });

  it('escapes markup and drops characters XML cannot carry', () => {
    expect(escapeXml(`a<b>&"c"'\u0001`)).toBe('a&lt;b&gt;&amp;&quot;c&quot;&apos;\ufffd');
  });

  it('keeps carriage returns, line feeds and tabs exactly, in text and in attributes', () => {
    const text = 'line1\r\nline2\rline3\n\ttab';
    const invoice = sampleInvoice();
    invoice.client.name = text;
    invoice.lines[0].description = text;
    // A parser turns a raw carriage return into a line feed (XML 1.0, 2.11); a character reference it keeps.
    const doc = new XMLParser({ htmlEntities: true, trimValues: false, parseTagValue: false }).parse(
      renderInvoiceUbl(invoice),
    ).Invoice;
    expect(doc['cac:AccountingCustomerParty']['cac:Party']['cac:PartyName']['cbc:Name']).toBe(text);
    expect(doc['cac:InvoiceLine']['cac:Item']['cbc:Description']).toBe(text);
    expect(escapeXml(text)).toBe('line1&#13;&#10;line2&#13;line3&#10;&#9;tab');
  });
});
