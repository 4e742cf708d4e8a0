import { AddressInfo } from 'node:net';
import { Duplex } from 'node:stream';
import { startApp, TestApp } from './support/app';
import { expectProblem } from './support/problem';
import { rawExchange } from './support/raw-http';

/** What node's HTTP server sees before any route: requests written byte for byte on a socket of their own. */
describe('the HTTP edge (e2e)', () => {
  let t: TestApp;
  let port: number;

  beforeAll(async () => {
    t = await startApp();
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    port = (t.app.getHttpServer().address() as AddressInfo).port;
  });

  afterAll(async () => {
    await t?.close();
  });

  /** Sends `raw` and reads the answer until the server closes the connection, its status line, fields and body. */
  const exchange = async (raw: string) => {
    let answer = await rawExchange(port, raw);
    // An interim answer (100 Continue) comes before the final one.
    const interim = /^HTTP\/1\.1 1\d\d [^\r]*\r\n\r\n/.exec(answer)?.[0] ?? '';
    answer = answer.slice(interim.length);
    const at = answer.indexOf('\r\n\r\n');
    const [statusLine, ...fields] = answer.slice(0, at).split('\r\n');
    const headers = Object.fromEntries(
      fields.map((f) => [f.slice(0, f.indexOf(':')).toLowerCase(), f.slice(f.indexOf(':') + 1).trim()]),
    );
    return { interim, statusLine, headers, body: at === -1 ? null : JSON.parse(answer.slice(at + 4)) };
  };

  const expectRawProblem = (res: Awaited<ReturnType<typeof exchange>>, status: number) => {
    expect(res.statusLine).toMatch(/^HTTP\/1\.1 \d{3} /);
    expectProblem(
      { status: Number(res.statusLine.split(' ')[1]), headers: res.headers, body: res.body },
      status,
    );
  };

  it.each([
    ['an authority', 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n'],
    ['a path of the API', 'CONNECT /v1/payouts HTTP/1.1\r\nHost: x\r\nX-Request-Id: tunnel-1\r\n\r\n'],
  ])(
    'answers CONNECT to %s with 405 problem+json, the methods it serves, and a closed connection',
    async (_, raw) => {
      const res = await exchange(raw);
      expectRawProblem(res, 405);
      expect(res.body.detail).toMatch(/CONNECT/);
      expect(res.headers.connection).toBe('close');
      expect(res.headers.allow.split(', ').sort()).toEqual(['DELETE', 'GET', 'HEAD', 'PATCH', 'POST', 'PUT']);
      expect(res.headers['x-request-id']).toMatch(
        raw.includes('tunnel-1') ? /^tunnel-1$/ : /^[0-9a-f-]{36}$/,
      );
    },
  );

  it.each([
    ['no Host line', 'GET /health/live HTTP/1.1\r\nConnection: close\r\n\r\n', 'is required in HTTP/1.1'],
    [
      'two Host lines',
      'GET /health/live HTTP/1.1\r\nHost: a\r\nhost: b\r\nConnection: close\r\n\r\n',
      'must be sent once',
    ],
    [
      'two Host lines in HTTP/1.0',
      'GET /health/live HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n',
      'must be sent once',
    ],
  ])('answers a request with %s with 400 problem+json naming Host', async (_, raw, message) => {
    const res = await exchange(raw);
    expectRawProblem(res, 400);
    expect(res.body.errors).toEqual([{ field: 'Host', message }]);
    expect(res.headers['x-request-id']).toEqual(expect.any(String));
  });

  it('serves an HTTP/1.0 request without Host, which that version allows', async () => {
    const res = await exchange('GET /health/live HTTP/1.0\r\n\r\n');
    expect(res.statusLine).toMatch(/^HTTP\/1\.1 200 /);
  });

  it.each([
    ['a GET', 'GET /health/live HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\nX-Request-Id: expect-1\r\n\r\n'],
    [
      'a POST holding its body back',
      'POST /v1/freelancers HTTP/1.1\r\nHost: x\r\nExpect: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n',
    ],
  ])(
    'answers %s with an Expect other than 100-continue with 417 problem+json naming Expect',
    async (_, raw) => {
      const res = await exchange(raw);
      expectRawProblem(res, 417);
      expect(res.body.errors).toEqual([{ field: 'Expect', message: 'must be 100-continue' }]);
      expect(res.headers.connection).toBe('close');
      expect(res.headers['x-request-id']).toMatch(
        raw.includes('expect-1') ? /^expect-1$/ : /^[0-9a-f-]{36}$/,
      );
    },
  );

  it('survives a CONNECT whose client is gone before the answer, and goes on serving', async () => {
    // The socket node hands over for a CONNECT, its own error listener taken off, failing the answer's write.
    const gone = new Duplex({
      read() {},
      write(_chunk, _encoding, callback) {
        callback(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
      },
    });
    // Not events.once: it would listen for 'error' itself.
    const closed = new Promise<void>((resolve) => gone.on('close', () => resolve()));
    t.app.getHttpServer().emit('connect', { headers: {} }, gone, Buffer.alloc(0));
    await closed;
    expect(gone.destroyed).toBe(true);
    const res = await exchange('GET /health/live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(res.statusLine).toMatch(/^HTTP\/1\.1 200 /);
  });

  it('still serves Expect: 100-continue', async () => {
    const res = await exchange(
      'GET /health/live HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n',
    );
    expect(res.interim).toBe('HTTP/1.1 100 Continue\r\n\r\n');
    expect(res.statusLine).toMatch(/^HTTP\/1\.1 200 /);
  });
});
