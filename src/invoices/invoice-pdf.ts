import PDFDocument from 'pdfkit';
import { MoneyDecimal } from '../money/money';
import { darkRuns, qrMatrix } from './invoice-qr';
import { InvoiceFonts } from './invoice-fonts';
import { countryName, fitText, groupThousands, statusLabel, toWinAnsi, utcMinute } from './invoice-text';
import { InvoiceView } from './invoice-view';
import {
  PURPOSE_CODE_DESCRIPTIONS,
  pakistanDate,
  withholdingAmount,
  withholdingRatePercent,
} from './pakistan-export';

const MARGIN = 50;
const PAGE_WIDTH = 595.28;
const CONTENT_WIDTH = PAGE_WIDTH - 2 * MARGIN;
const LABEL_WIDTH = 170;
const QR_SIZE = 110;
const INK = '#111111';
const MUTED = '#555555';
const RULE = '#bbbbbb';

const REGULAR = 'Regular';
const BOLD = 'Bold';

type Doc = PDFKit.PDFDocument;
/** Makes a party's text drawable in the document's fonts. */
type Fit = (text: string) => string;

/**
 * The invoice a freelancer hands to a bank: parties, the service line, amounts, purpose code, export status and
 * its history, and what makes it checkable (SHA-256, signature, QR code of the public verification URL).
 */
export function renderInvoicePdf(
  invoice: InvoiceView,
  verifyUrl: string,
  fonts: InvoiceFonts | null = null,
): Promise<Buffer> {
  const doc = new PDFDocument({
    size: 'A4',
    margin: MARGIN,
    info: {
      Title: `Export invoice ${invoice.number}`,
      Author: invoice.exporter.name,
      Subject: `Service export to ${invoice.client.name}`,
      CreationDate: new Date(invoice.issuedAt),
    },
  });
  const done = collect(doc);
  const fit = useFonts(doc, fonts);
  header(doc, invoice);
  parties(doc, invoice, fit);
  serviceLine(doc, invoice, fit);
  realization(doc, invoice, fit);
  taxInformation(doc, invoice);
  history(doc, invoice, fit);
  verification(doc, invoice, verifyUrl);
  doc.end();
  return done;
}

/**
 * Registers the document's regular and bold fonts: the Unicode typeface when there is one, else the PDF standard
 * Helvetica (Windows-1252 only). Answers how a party's text is fitted to them.
 */
function useFonts(doc: Doc, fonts: InvoiceFonts | null): Fit {
  if (!fonts) {
    doc.registerFont(REGULAR, 'Helvetica');
    doc.registerFont(BOLD, 'Helvetica-Bold');
    return toWinAnsi;
  }
  doc.registerFont(REGULAR, fonts.regular as unknown as PDFKit.Mixins.PDFFontSource);
  doc.registerFont(BOLD, fonts.bold as unknown as PDFKit.Mixins.PDFFontSource);
  return (text) => fitText(text, fonts.covers);
}

function collect(doc: Doc): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    doc.on('data', (chunk: Buffer) => chunks.push(chunk));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
}

function header(doc: Doc, invoice: InvoiceView): void {
  const top = doc.y;
  doc.fillColor(INK).font(BOLD).fontSize(18).text('Export invoice', MARGIN, top);
  doc.font(REGULAR).fontSize(9).fillColor(MUTED).text('Export of services from Pakistan', MARGIN, doc.y);
  const right = { width: 250, align: 'right' as const };
  doc.font(BOLD).fontSize(13).fillColor(INK);
  doc.text(invoice.number, PAGE_WIDTH - MARGIN - 250, top, right);
  doc.font(REGULAR).fontSize(9);
  doc.text(`Date: ${pakistanDate(new Date(invoice.issuedAt))}`, right);
  doc.text(`Issued at ${utcMinute(invoice.issuedAt)}`, right);
  doc.font(BOLD).text(`Export status: ${statusLabel(invoice.exportStatus)}`, right);
  doc.font(REGULAR).fillColor(MUTED).text(`(${invoice.exportStatus})`, right);
  doc.y = Math.max(doc.y, top + 60);
  rule(doc);
}

function parties(doc: Doc, invoice: InvoiceView, fit: Fit): void {
  const top = doc.y;
  const column = CONTENT_WIDTH / 2 - 10;
  sectionTitle(doc, 'Exporter (service provider)', MARGIN, top, column);
  const e = invoice.exporter;
  doc.font(REGULAR).fontSize(10).fillColor(INK);
  doc.text(fit(e.name), MARGIN, doc.y, { width: column });
  doc.text(`CNIC: ${e.cnic}`, { width: column });
  doc.text(`NTN: ${e.ntn ?? 'not given'}`, { width: column });
  doc.text(`PSEB registration: ${e.psebRegistrationNo ? fit(e.psebRegistrationNo) : 'not registered'}`, {
    width: column,
  });
  doc.text('Country: Pakistan (PK)', { width: column });
  const leftBottom = doc.y;

  const x = MARGIN + CONTENT_WIDTH / 2 + 10;
  sectionTitle(doc, 'Foreign client (service recipient)', x, top, column);
  doc.font(REGULAR).fontSize(10).fillColor(INK);
  doc.text(fit(invoice.client.name), x, doc.y, { width: column });
  doc.text(`Country: ${countryName(invoice.client.country)}`, { width: column });
  doc.y = Math.max(leftBottom, doc.y);
  doc.x = MARGIN;
  rule(doc);
}

function serviceLine(doc: Doc, invoice: InvoiceView, fit: Fit): void {
  sectionTitle(doc, 'Services exported', MARGIN, doc.y, CONTENT_WIDTH);
  const columns = [
    { title: '#', x: MARGIN, width: 20 },
    { title: 'Description', x: MARGIN + 22, width: 250 },
    { title: 'Service category', x: MARGIN + 280, width: 120 },
    { title: 'Amount (USD)', x: MARGIN + 400, width: CONTENT_WIDTH - 400, align: 'right' as const },
  ];
  let y = doc.y;
  doc.font(BOLD).fontSize(9).fillColor(MUTED);
  for (const c of columns) doc.text(c.title, c.x, y, { width: c.width, align: c.align });
  y = doc.y + 2;
  doc.font(REGULAR).fontSize(10).fillColor(INK);
  invoice.lines.forEach((line, index) => {
    const cells = [
      String(index + 1),
      fit(line.description),
      line.serviceCategory,
      groupThousands(line.amount),
    ];
    let bottom = y;
    cells.forEach((cell, i) => {
      doc.text(cell, columns[i].x, y, { width: columns[i].width, align: columns[i].align });
      bottom = Math.max(bottom, doc.y);
    });
    y = bottom + 2;
  });
  doc.y = y;
  amountRow(doc, 'Gross (USD)', groupThousands(invoice.gross), true);
  doc.moveDown(0.3);
  const purpose = `${invoice.purposeCode} - ${PURPOSE_CODE_DESCRIPTIONS[invoice.purposeCode]}`;
  field(doc, 'SBP purpose code', purpose, true);
  field(doc, 'Currency', `${invoice.currency} (foreign currency proceeds)`);
  field(doc, 'Payment reference', invoice.payoutId);
  rule(doc);
}

function realization(doc: Doc, invoice: InvoiceView, fit: Fit): void {
  sectionTitle(doc, 'Realization of proceeds', MARGIN, doc.y, CONTENT_WIDTH);
  if (invoice.netRealized === null || invoice.routingFees === null || invoice.route === null) {
    doc.font(REGULAR).fontSize(10).fillColor(MUTED);
    doc.text(
      'Not realized yet: route, fees, net amount, FX rate and PKR equivalent are filled when the payout settles.',
      MARGIN,
      doc.y,
      {
        width: CONTENT_WIDTH,
      },
    );
    rule(doc);
    return;
  }
  field(doc, 'Route', `${invoice.route.routeId} (${invoice.route.provider}, ${invoice.route.rail})`);
  if (invoice.realizedAt) field(doc, 'Realization date', pakistanDate(new Date(invoice.realizedAt)));
  field(doc, 'Routing fees', `USD ${groupThousands(invoice.routingFees)}`);
  field(doc, 'Net realized (credited)', `USD ${groupThousands(invoice.netRealized)}`, true);
  if (invoice.fx && invoice.pkrEquivalent) {
    field(doc, 'Exchange rate USD-PKR', `${invoice.fx.rate} (rate of ${invoice.fx.asOf})`);
    field(doc, 'PKR equivalent', `PKR ${groupThousands(invoice.pkrEquivalent)}`, true);
  } else {
    field(doc, 'Exchange rate USD-PKR', 'no rate on record at or before the realization date');
  }
  if (invoice.esfcaRetained) {
    field(doc, 'Kept in ESFCA (information)', `USD ${groupThousands(invoice.esfcaRetained)}`);
    note(
      doc,
      'Exporters\u2019 Special Foreign Currency Account: the higher of USD 5,000 or 50% of the proceeds (SBP freelancer framework), unless the exporter opted out in writing.',
    );
  }
  if (invoice.prc) {
    field(doc, 'e-PRC number', fit(invoice.prc.prcNumber), true);
    field(
      doc,
      'e-PRC issued by',
      `${fit(invoice.prc.bank)} on ${pakistanDate(new Date(invoice.prc.issuedAt))}`,
    );
  }
  rule(doc);
}

function taxInformation(doc: Doc, invoice: InvoiceView): void {
  const registered = invoice.exporter.psebRegistrationNo;
  const rate = withholdingRatePercent(registered).toString();
  const base = invoice.netRealized ?? invoice.gross;
  const amount = withholdingAmount(new MoneyDecimal(base), registered).toFixed(2);
  const who = registered ? 'a PSEB-registered IT/ITeS exporter' : 'an exporter not registered with PSEB';
  sectionTitle(doc, 'Tax information (not withheld by this invoice)', MARGIN, doc.y, CONTENT_WIDTH);
  note(
    doc,
    `Under Income Tax Ordinance s.154A the bank withholds ${rate}% at realization for ${who}: about USD ${groupThousands(amount)} of USD ${groupThousands(base)}. Export of services: no sales tax is charged on this invoice.`,
  );
  rule(doc);
}

function history(doc: Doc, invoice: InvoiceView, fit: Fit): void {
  sectionTitle(doc, 'Export status history', MARGIN, doc.y, CONTENT_WIDTH);
  doc.font(REGULAR).fontSize(9).fillColor(INK);
  for (const change of invoice.statusHistory) {
    const y = doc.y;
    doc.text(utcMinute(change.at), MARGIN, y, { width: 110 });
    doc.font(BOLD).text(statusLabel(change.status), MARGIN + 115, y, { width: 110 });
    doc.font(REGULAR).text(fit(change.detail ?? ''), MARGIN + 230, y, { width: CONTENT_WIDTH - 230 });
    doc.x = MARGIN;
  }
  rule(doc);
}

function verification(doc: Doc, invoice: InvoiceView, verifyUrl: string): void {
  if (doc.y + QR_SIZE + 30 > doc.page.height - MARGIN) doc.addPage();
  const top = doc.y;
  const textWidth = CONTENT_WIDTH - QR_SIZE - 20;
  sectionTitle(doc, 'Verification', MARGIN, top, textWidth);
  doc.font(REGULAR).fontSize(8).fillColor(MUTED);
  doc.text('SHA-256 of the RFC 8785 canonical JSON of the issued part:', MARGIN, doc.y, { width: textWidth });
  doc.font('Courier').fontSize(7.5).fillColor(INK).text(invoice.sha256, { width: textWidth });
  doc.font(REGULAR).fontSize(8).fillColor(MUTED).text('Ed25519 signature of that hex digest (base64):', {
    width: textWidth,
  });
  doc.font('Courier').fontSize(7).fillColor(INK).text(invoice.signature, { width: textWidth });
  doc.font(REGULAR).fontSize(8).fillColor(MUTED).text('Verify this invoice (scan the code or open):', {
    width: textWidth,
  });
  // Helvetica, narrower than DejaVu Sans, keeps the URL on one line; it is ASCII, so any font can draw it.
  doc.font('Helvetica').fontSize(8).fillColor(INK).text(verifyUrl, { width: textWidth, link: verifyUrl });
  const bottom = doc.y;
  drawQr(doc, verifyUrl, PAGE_WIDTH - MARGIN - QR_SIZE, top);
  doc.y = Math.max(bottom, top + QR_SIZE);
  doc.x = MARGIN;
}

function drawQr(doc: Doc, text: string, x: number, y: number): void {
  const matrix = qrMatrix(text);
  const quiet = 4;
  const module = QR_SIZE / (matrix.length + 2 * quiet);
  doc.save().fillColor('#000000');
  matrix.forEach((row, r) => {
    for (const run of darkRuns(row)) {
      doc.rect(x + (quiet + run.start) * module, y + (quiet + r) * module, run.length * module, module);
    }
  });
  doc.fill().restore();
}

function sectionTitle(doc: Doc, title: string, x: number, y: number, width: number): void {
  doc.font(BOLD).fontSize(10).fillColor(MUTED).text(title.toUpperCase(), x, y, { width });
  doc.moveDown(0.2);
}

function field(doc: Doc, label: string, value: string, strong = false): void {
  const y = doc.y;
  doc.font(REGULAR).fontSize(10).fillColor(MUTED).text(label, MARGIN, y, { width: LABEL_WIDTH });
  const labelBottom = doc.y;
  doc
    .font(strong ? BOLD : REGULAR)
    .fillColor(INK)
    .text(value, MARGIN + LABEL_WIDTH, y, { width: CONTENT_WIDTH - LABEL_WIDTH });
  doc.y = Math.max(labelBottom, doc.y);
  doc.x = MARGIN;
}

function amountRow(doc: Doc, label: string, value: string, strong: boolean): void {
  const y = doc.y;
  doc
    .font(strong ? BOLD : REGULAR)
    .fontSize(10)
    .fillColor(INK);
  doc.text(label, MARGIN + 280, y, { width: 120 });
  doc.text(value, MARGIN + 400, y, { width: CONTENT_WIDTH - 400, align: 'right' });
  doc.x = MARGIN;
}

function note(doc: Doc, text: string): void {
  doc.font(REGULAR).fontSize(8.5).fillColor(MUTED).text(text, MARGIN, doc.y, { width: CONTENT_WIDTH });
  doc.fillColor(INK);
}

function rule(doc: Doc): void {
  doc.moveDown(0.5);
  doc
    .moveTo(MARGIN, doc.y)
    .lineTo(PAGE_WIDTH - MARGIN, doc.y)
    .lineWidth(0.5)
    .strokeColor(RULE)
    .stroke();
  doc.moveDown(0.6);
}
