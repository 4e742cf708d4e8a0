import { once } from 'node:events';
import { createServer, Server } from 'node:http';
import type { AddressInfo, LookupFunction } from 'node:net';
import { postOnce } from './post-once';
import { describeSendError } from './partner-events';
import { publicOnlyLookup } from './webhook-url';

describe(postOnce.name, () => {
  let server: Server;
  let port: number;
  const received: { url?: string; body: string; headers: Record<string, unknown> }[] = [];
  let answer = 204;

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      req.on('end', () => {
        received.push({ url: req.url, body, headers: req.headers });
        res.writeHead(answer, { location: 'http://127.0.0.1:1/elsewhere' }).end('x'.repeat(10_000));
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
  });

  beforeEach(() => {
    received.length = 0;
    answer = 204;
  });

  afterAll(async () => {
    server.close();
    await once(server, 'close');
  });

  /** A resolver for a name no DNS knows, so only the lookup given to the connection can reach the server. */
  const onlyWe: LookupFunction = (_hostname, options, callback) => {
    if (options.all) callback(null, [{ address: '127.0.0.1', family: 4 }]);
    else callback(null, '127.0.0.1', 4);
  };

  it('posts the body with its headers and answers the status, following no redirect', async () => {
    answer = 302;
    const status = await postOnce(`http://hooks.invalid:${port}/in`, {
      headers: { 'content-type': 'application/json', 'webhook-id': 'evt_1' },
      body: '{"a":"é"}',
      timeoutMs: 5000,
      lookup: onlyWe,
    });
    expect(status).toBe(302);
    expect(received).toEqual([
      {
        url: '/in',
        body: '{"a":"é"}',
        headers: expect.objectContaining({ 'webhook-id': 'evt_1', 'content-length': '10' }),
      },
    ]);
  });

  it('never connects when the connection’s own lookup finds a private address', async () => {
    const resolver = jest.fn(async () => [{ address: '127.0.0.1' }]);
    const failure = await postOnce(`http://hooks.invalid:${port}/in`, {
      headers: {},
      body: '{}',
      timeoutMs: 5000,
      lookup: publicOnlyLookup(resolver),
    }).catch((error: unknown) => error);
    expect(describeSendError(failure, 5000)).toBe(
      'request failed: hooks.invalid is refused or does not resolve to a public address',
    );
    expect(resolver).toHaveBeenCalledTimes(1);
    expect(received).toEqual([]);
  });

  it('gives up after the timeout', async () => {
    const silent = createServer(() => undefined);
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    try {
      const failure = await postOnce(`http://127.0.0.1:${(silent.address() as AddressInfo).port}/`, {
        headers: {},
        body: '{}',
        timeoutMs: 200,
      }).catch((error: unknown) => error);
      expect(describeSendError(failure, 200)).toBe('timed out after 200 ms');
    } finally {
      silent.closeAllConnections();
      silent.close();
    }
  });
});
