/**
 * Asserts a problem+json answer as CONTRACT.md states it: the status, the media type, every member of the
 * problem (type, title, status, detail), and no stack trace leaking into the body.
 */
export function expectProblem(
  res: { status: number; headers: Record<string, string>; body: unknown },
  status: number,
): void {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.body).toEqual(
    expect.objectContaining({
      type: expect.any(String),
      title: expect.any(String),
      status,
      detail: expect.any(String),
    }),
  );
  expect(JSON.stringify(res.body)).not.toMatch(/at .+\.(ts|js):\d+/);
}
