import { decodeCursor, encodeCursor } from './pagination';
import { ProblemException } from './problem';

const made = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('cursors', () => {
  it('reads back what it wrote', () => {
    const row = {
      created_at: new Date('2026-11-30T11:58:48.123Z'),
      id: '0ac56a99-6d3e-4a4b-9f0c-2a1b3c4d5e6f',
    };
    expect(decodeCursor(encodeCursor(row))).toEqual({
      createdAt: '2026-11-30T11:58:48.123Z',
      id: '0ac56a99-6d3e-4a4b-9f0c-2a1b3c4d5e6f',
    });
  });

  it.each([
    [
      'a timestamp Date.parse takes but Postgres does not',
      made(['1', '00000000-0000-0000-0000-000000000000']),
    ],
    ['a local time', made(['2026-11-30 11:58:48', '00000000-0000-0000-0000-000000000000'])],
    ['30 February', made(['2026-02-30T00:00:00Z', '00000000-0000-0000-0000-000000000000'])],
    ['31 April', made(['2026-04-31T00:00:00.000Z', '00000000-0000-0000-0000-000000000000'])],
    ['year 0', made(['0000-01-01T00:00:00Z', '00000000-0000-0000-0000-000000000000'])],
    ['36 dashes for an id', made(['2026-11-30T11:58:48.123Z', '-'.repeat(36)])],
    ['an id that is not a string', made(['2026-11-30T11:58:48.123Z', 42])],
    ['not JSON', Buffer.from('nope').toString('base64url')],
  ])('refuses %s with a 400 naming the cursor', (_label, cursor) => {
    let thrown: unknown;
    try {
      decodeCursor(cursor);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ProblemException);
    expect((thrown as ProblemException).toProblem()).toMatchObject({
      status: 400,
      errors: [{ field: 'cursor', message: 'cursor is not one this service issued' }],
    });
  });
});
