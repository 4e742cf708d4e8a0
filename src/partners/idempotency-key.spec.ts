import { ProblemException } from '../common/problem';
import { idempotencyKeyOf } from './idempotency.service';

describe(idempotencyKeyOf.name, () => {
  /** Headers as Node hands them over: values read as Latin-1, and the raw name/value list. */
  const request = (...values: Buffer[]) => {
    const latin1 = values.map((v) => v.toString('latin1'));
    return {
      headers: latin1.length ? { 'idempotency-key': latin1.join(', ') } : {},
      raw: latin1.flatMap((v) => ['Idempotency-Key', v]),
    };
  };
  const keyOf = (...values: Buffer[]) => {
    const { headers, raw } = request(...values);
    return idempotencyKeyOf(headers, raw);
  };
  const errorsOf = (...values: Buffer[]) => {
    try {
      keyOf(...values);
    } catch (error) {
      return (error as ProblemException).toProblem().errors;
    }
    throw new Error('the key was not refused');
  };

  it('answers undefined without the header, and an ASCII key as it is', () => {
    expect(keyOf()).toBeUndefined();
    expect(keyOf(Buffer.from('order-42'))).toBe('order-42');
  });

  it('counts a UTF-8 key in the characters it spells, keeping it as Node read it while that fits', () => {
    expect(keyOf(Buffer.from('clé-ü', 'utf8'))).toBe(Buffer.from('clé-ü', 'utf8').toString('latin1'));
    // 510 bytes: longer than a stored key may be, so it is kept as its 255 characters.
    expect(keyOf(Buffer.from('ü'.repeat(255), 'utf8'))).toBe('ü'.repeat(255));
  });

  it('keeps bytes that are not UTF-8 as they came', () => {
    expect(keyOf(Buffer.from([0x6b, 0xff, 0x6b]))).toBe('k\u00ffk');
  });

  it('refuses an empty key, one over 255 characters, and the header sent twice', () => {
    const badLength = [{ field: 'Idempotency-Key', message: 'must be 1 to 255 characters' }];
    expect(errorsOf(Buffer.from(''))).toEqual(badLength);
    expect(errorsOf(Buffer.from('ü'.repeat(256), 'utf8'))).toEqual(badLength);
    expect(errorsOf(Buffer.from('a'), Buffer.from('b'))).toEqual([
      { field: 'Idempotency-Key', message: 'must be sent once' },
    ]);
  });
});
