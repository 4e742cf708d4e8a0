import { create } from 'qrcode';

/** The dark modules of a QR code for the text, row by row; the PDF draws them as vector squares. */
export function qrMatrix(text: string): boolean[][] {
  const { modules } = create(text, { errorCorrectionLevel: 'M' });
  const rows: boolean[][] = [];
  for (let row = 0; row < modules.size; row += 1) {
    const cells: boolean[] = [];
    for (let col = 0; col < modules.size; col += 1) cells.push(modules.get(row, col) === 1);
    rows.push(cells);
  }
  return rows;
}

/** Horizontal runs of dark modules, so a row is drawn with a few rectangles instead of one per module. */
export function darkRuns(row: boolean[]): Array<{ start: number; length: number }> {
  const runs: Array<{ start: number; length: number }> = [];
  let start = -1;
  for (let col = 0; col <= row.length; col += 1) {
    const dark = col < row.length && row[col];
    if (dark && start < 0) start = col;
    if (!dark && start >= 0) {
      runs.push({ start, length: col - start });
      start = -1;
    }
  }
  return runs;
}
