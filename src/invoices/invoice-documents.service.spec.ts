import { DataSource } from 'typeorm';
import { loadConfig } from '../config/app-config';
import { InvoiceDocumentsService } from './invoice-documents.service';
import { InvoiceSigner } from './invoice-signer.service';

describe(InvoiceDocumentsService.name, () => {
  const build = (env: Record<string, string>) =>
    new InvoiceDocumentsService({} as DataSource, {} as InvoiceSigner, loadConfig(env));

  it('stops the start when INVOICE_FONT_DIR was set and holds no DejaVu Sans', () => {
    expect(() => build({ INVOICE_FONT_DIR: '/nonexistent-font-dir' })).toThrow(
      /INVOICE_FONT_DIR: no DejaVu Sans in \/nonexistent-font-dir/,
    );
  });

  it('starts with the fonts of the default directory, or set explicitly to a directory that has them', () => {
    expect(() => build({})).not.toThrow();
    expect(() => build({ INVOICE_FONT_DIR: loadConfig({}).invoiceFonts.dir })).not.toThrow();
  });

  it('falls back to the standard fonts when the default directory has none', () => {
    const config = { ...loadConfig({}), invoiceFonts: { dir: '/nonexistent-font-dir', required: false } };
    expect(() => new InvoiceDocumentsService({} as DataSource, {} as InvoiceSigner, config)).not.toThrow();
  });
});
