import { PDFParse } from 'pdf-parse';

/** The text a reader (or a bank's scanner) gets out of a PDF, with whitespace collapsed. */
export async function pdfText(pdf: Buffer): Promise<string> {
  const parser = new PDFParse({ data: new Uint8Array(pdf) });
  try {
    const result = await parser.getText();
    return result.text.replace(/\s+/g, ' ');
  } finally {
    await parser.destroy();
  }
}
