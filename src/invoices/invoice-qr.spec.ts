import jsQR from 'jsqr';
import { darkRuns, qrMatrix } from './invoice-qr';

/** Paints the matrix as an RGBA bitmap with a quiet zone, as a phone camera would see the printed code. */
function bitmap(matrix: boolean[][], scale = 4, quiet = 4): { data: Uint8ClampedArray; size: number } {
  const size = (matrix.length + 2 * quiet) * scale;
  const data = new Uint8ClampedArray(size * size * 4).fill(255);
  matrix.forEach((row, r) =>
    row.forEach((dark, c) => {
      if (!dark) return;
      for (let y = 0; y < scale; y += 1) {
        for (let x = 0; x < scale; x += 1) {
          const offset = (((r + quiet) * scale + y) * size + (c + quiet) * scale + x) * 4;
          data[offset] = data[offset + 1] = data[offset + 2] = 0;
        }
      }
    }),
  );
  return { data, size };
}

describe(qrMatrix.name, () => {
  it('encodes the verification URL so that a QR reader gets it back', () => {
    const url = 'https://payouts.example.pk/v1/public/invoices/0b9a3c4e-2f1d-4a5b-8c6d-7e8f9a0b1c2d/verify';
    const matrix = qrMatrix(url);
    expect(matrix.length).toBeGreaterThanOrEqual(21);
    expect(matrix.every((row) => row.length === matrix.length)).toBe(true);
    const { data, size } = bitmap(matrix);
    expect(jsQR(data, size, size)?.data).toBe(url);
  });
});

describe(darkRuns.name, () => {
  it('turns a row into runs of dark modules', () => {
    expect(darkRuns([true, true, false, true, false, false, true])).toEqual([
      { start: 0, length: 2 },
      { start: 3, length: 1 },
      { start: 6, length: 1 },
    ]);
    expect(darkRuns([false, false])).toEqual([]);
  });

  it('draws exactly the dark modules of the matrix', () => {
    const matrix = qrMatrix('https://example.com/x');
    for (const row of matrix) {
      const redrawn = new Array<boolean>(row.length).fill(false);
      for (const run of darkRuns(row)) for (let i = 0; i < run.length; i += 1) redrawn[run.start + i] = true;
      expect(redrawn).toEqual(row);
    }
  });
});
