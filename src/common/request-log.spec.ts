import Fastify from 'fastify';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { captureLines } from '../../test/support/log-lines';
import { createRootLogger } from './app-logger';
import { waitFor } from '../../test/support/app';
import { logRequests, tagRequestLogs } from './request-log';

describe(logRequests.name, () => {
  async function serve(level: string, secrets: string[] = []) {
    const { stream, lines } = captureLines();
    const fastify = Fastify({ genReqId: () => 'req-1' });
    logRequests(fastify, pino({ level }, stream), secrets);
    let release = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    let holding = false;
    fastify.get('/ok', async () => ({ ok: true }));
    fastify.get('/broken', async () => {
      throw new Error('boom');
    });
    fastify.get('/slow', async () => {
      holding = true;
      await held;
      return { ok: true };
    });
    return { fastify, lines, release, isHolding: () => holding };
  }

  it('writes one line per answered request: id, method, URL, status and time taken', async () => {
    const { fastify, lines } = await serve('info');
    await fastify.inject({ method: 'GET', url: '/ok?x=1' });
    await fastify.inject({ method: 'GET', url: '/broken' });
    await fastify.inject({ method: 'GET', url: '/nowhere' });
    await fastify.close();
    expect(lines).toEqual([
      expect.objectContaining({
        level: 30,
        msg: 'request completed',
        req: { id: 'req-1', method: 'GET', url: '/ok?x=1' },
        res: { statusCode: 200 },
        responseTime: expect.any(Number),
      }),
      expect.objectContaining({ level: 50, res: { statusCode: 500 } }),
      expect.objectContaining({ level: 30, res: { statusCode: 404 } }),
    ]);
  });

  it('writes no credential a client put in the URL, and the rest of the URL as sent', async () => {
    const { fastify, lines } = await serve('info');
    const key = `pk_${'A'.repeat(43)}`;
    const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw+J/ab==';
    await fastify.inject({ method: 'GET', url: `/ok?status=failed&api_key=${key}&Token=t0ps3cret&limit=5` });
    await fastify.inject({ method: 'GET', url: `/ok?note=${encodeURIComponent(secret)}` });
    await fastify.inject({ method: 'GET', url: `/ok/${key}?cursor=abc` });
    await fastify.close();
    expect(lines.map((line) => (line.req as { url: string }).url)).toEqual([
      '/ok?status=failed&api_key=[redacted]&Token=[redacted]&limit=5',
      '/ok?note=[redacted]',
      '/ok/[redacted]?cursor=abc',
    ]);
    expect(JSON.stringify(lines)).not.toMatch(/pk_A|whsec_|t0ps3cret/);
  });

  it('writes no ops token a client put in the URL, under any name, and no credential under an escaped name', async () => {
    const opsToken = 'an-ops-token-of-no-shape/0123456789';
    const { fastify, lines } = await serve('info', [opsToken, 'the-previous-ops-token']);
    await fastify.inject({ method: 'GET', url: `/ok?x=${opsToken}&limit=5` });
    await fastify.inject({ method: 'GET', url: `/ok?bearer=${encodeURIComponent(opsToken)}` });
    await fastify.inject({ method: 'GET', url: '/ok?t=the-previous-ops-token' });
    await fastify.inject({ method: 'GET', url: '/ok?to%6Ben=t0ps3cret&cursor=abc' });
    // Escaped as a form would (lower-case escapes, every character escaped), or in the path.
    await fastify.inject({ method: 'GET', url: `/ok?x=${opsToken.replace('/', '%2f')}` });
    const escaped = [...opsToken].map((c) => `%${c.charCodeAt(0).toString(16)}`).join('');
    await fastify.inject({ method: 'GET', url: `/ok?x=${escaped}&y=1` });
    await fastify.inject({ method: 'GET', url: `/ok/${encodeURIComponent(opsToken)}?cursor=abc` });
    await fastify.close();
    expect(lines.map((line) => (line.req as { url: string }).url)).toEqual([
      '/ok?x=[redacted]&limit=5',
      '/ok?bearer=[redacted]',
      '/ok?t=[redacted]',
      '/ok?to%6Ben=[redacted]&cursor=abc',
      '/ok?x=[redacted]',
      '/ok?x=[redacted]&y=1',
      '/ok/[redacted]?cursor=abc',
    ]);
  });

  it('writes "request aborted" when the client goes away before the answer', async () => {
    const { fastify, lines, release, isHolding } = await serve('info');
    await fastify.listen({ port: 0, host: '127.0.0.1' });
    const { port } = fastify.server.address() as AddressInfo;
    const client = request({ host: '127.0.0.1', port, path: '/slow' });
    client.on('error', () => undefined);
    client.end();
    await waitFor(async () => isHolding(), { timeoutMs: 5000 });
    client.destroy();
    await waitFor(async () => lines.length > 0, { timeoutMs: 5000 });
    release();
    await fastify.close();
    expect(lines[0]).toEqual(
      expect.objectContaining({
        level: 30,
        msg: 'request aborted',
        req: { id: 'req-1', method: 'GET', url: '/slow' },
        res: { statusCode: null },
      }),
    );
  });

  it('writes nothing when info lines are off', async () => {
    const { fastify, lines } = await serve('warn');
    await fastify.inject({ method: 'GET', url: '/ok' });
    await fastify.inject({ method: 'GET', url: '/broken' });
    await fastify.close();
    expect(lines).toEqual([]);
  });
});

describe(tagRequestLogs.name, () => {
  it('names the request on every line logged while it is handled, also after its body was read', async () => {
    const { stream, lines } = captureLines();
    const root = createRootLogger('info', stream);
    let next = 0;
    const fastify = Fastify({ genReqId: () => `req-${(next += 1)}` });
    tagRequestLogs(fastify);
    // As the app reads bodies: the whole stream as one buffer, parsed once it has ended.
    fastify.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) =>
      done(null, JSON.parse(body.toString('utf8'))),
    );
    const handle = async (name: string) => {
      // A turn of the event loop between the request's start and the line: the context must survive it.
      await new Promise((resolve) => setImmediate(resolve));
      root.warn(`${name} handled`);
      return { ok: true };
    };
    let writeBegan = () => {};
    const writing = new Promise<void>((resolve) => (writeBegan = resolve));
    fastify.addHook('onRequest', (request, _reply, done) => {
      if (request.url === '/write') writeBegan();
      done();
    });
    fastify.get('/read', () => handle('read'));
    fastify.post('/write', () => handle('write'));
    // Over a socket: injected requests hand the body over at once, real ones in stream events.
    await fastify.listen({ port: 0, host: '127.0.0.1' });
    const { port } = fastify.server.address() as AddressInfo;
    await (await fetch(`http://127.0.0.1:${port}/read`)).text();
    // The body follows once the server has begun the request, so it is read in stream events after that.
    await new Promise<void>((resolve, reject) => {
      const client = request(
        {
          host: '127.0.0.1',
          port,
          path: '/write',
          method: 'POST',
          headers: { 'content-type': 'application/json' },
        },
        (res) => res.resume().on('end', resolve),
      );
      client.on('error', reject);
      client.flushHeaders();
      void writing.then(() => client.end(JSON.stringify({ amount: '1.00' })));
    });
    root.info('between requests');
    await fastify.close();
    expect(lines).toEqual([
      expect.objectContaining({ msg: 'read handled', reqId: 'req-1' }),
      expect.objectContaining({ msg: 'write handled', reqId: 'req-2' }),
      expect.not.objectContaining({ reqId: expect.anything() }),
    ]);
  });
});
