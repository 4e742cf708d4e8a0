import { pendingInvoice, sampleInvoice } from '../../test/support/invoice-fixtures';
import { pdfText } from '../../test/support/pdf-text';
import { loadConfig } from '../config/app-config';
import { loadInvoiceFonts } from './invoice-fonts';
import { renderInvoicePdf } from './invoice-pdf';

const VERIFY_URL =
  'https://payouts.example.pk/v1/public/invoices/0b9a3c4e-2f1d-4a5b-8c6d-7e8f9a0b1c2d/verify';

describe(renderInvoicePdf.name, () => {
  it('renders a realized invoice with parties, amounts, purpose code, status, history and verification', async () => {
    const invoice = sampleInvoice();
    const pdf = await renderInvoicePdf(invoice, VERIFY_URL);
    expect(pdf.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    const text = await pdfText(pdf);
    for (const expected of [
      'INV-2026-000042',
      'Date: 2026-11-21',
      'Ayesha Khan',
      'CNIC: 35202-1234567-1',
      'NTN: 1234567-8',
      'PSEB registration: PSEB-F-12345',
      'Acme & Sons <Inc>',
      'United States (US)',
      'Web development, milestone 3',
      '1,250.00',
      'USD 51.25',
      'USD 1,198.75',
      '278.45 (rate of 2026-11-21)',
      'PKR 333,791.94',
      '9186 - Freelance computer and information services',
      'Export status: e-PRC issued',
      '(prc_issued)',
      'Awaiting proceeds',
      'Proceeds realized',
      'PRC-77',
      'bank withholds 0.25%',
      invoice.sha256,
      VERIFY_URL,
    ]) {
      expect(text).toContain(expected);
    }
  });

  it('says what is still pending before settlement, and the 1% rate without PSEB registration', async () => {
    const invoice = pendingInvoice({ exporter: { ...sampleInvoice().exporter, psebRegistrationNo: null } });
    const text = await pdfText(await renderInvoicePdf(invoice, VERIFY_URL));
    expect(text).toContain('Export status: Awaiting proceeds');
    expect(text).toContain('Not realized yet');
    expect(text).toContain('PSEB registration: not registered');
    expect(text).toContain('bank withholds 1%');
    expect(text).not.toMatch(/PKR \d/);
  });

  it('shows text the standard fonts cannot carry as close as it can', async () => {
    const invoice = sampleInvoice({ client: { name: 'Ștefan Müller GmbH', country: 'DE' } });
    const text = await pdfText(await renderInvoicePdf(invoice, VERIFY_URL));
    expect(text).toContain('Stefan Müller GmbH');
    expect(text).toContain('Germany (DE)');
  });

  it('draws names in other scripts with the Unicode fonts, marking only what they lack', async () => {
    const fonts = loadInvoiceFonts(loadConfig({}).invoiceFonts.dir);
    const invoice = sampleInvoice({
      exporter: { ...sampleInvoice().exporter, name: 'Łukasz Żółć' },
      client: { name: 'İstanbul Yazılım Şirketi Дмитрий 北京', country: 'TR' },
      prc: { prcNumber: 'PRC-77', issuedAt: '2026-11-23T00:00:00.000Z', bank: 'Bank Alfalah — Ștefan' },
    });
    const text = await pdfText(await renderInvoicePdf(invoice, VERIFY_URL, fonts));
    expect(text).toContain('Łukasz Żółć');
    expect(text).toContain('İstanbul Yazılım Şirketi Дмитрий ??');
    expect(text).toContain('Bank Alfalah — Ștefan');
    expect(text).toContain('PKR 333,791.94');
    expect(text).toContain('Export status: e-PRC issued');
  });

  it('refuses a font directory without the fonts', () => {
    expect(() => loadInvoiceFonts('/nonexistent-font-dir')).toThrow(/DejaVuSans\.ttf/);
  });
});
