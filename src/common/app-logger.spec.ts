import Fastify from 'fastify';
import pino from 'pino';
import { Writable } from 'node:stream';
import { AppLogger, createRootLogger, logRequests } from './app-logger';

/** A pino destination that keeps the parsed lines. */
function capture(): { stream: Writable; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { stream, lines };
}

describe(AppLogger.name, () => {
  it("writes Nest's calls as pino lines with their context", () => {
    const { stream, lines } = capture();
    const logger = new AppLogger(createRootLogger('debug', stream));
    logger.log('started', 'NestFactory');
    logger.warn('slow', 'RateLimiter');
    logger.debug('detail');
    logger.verbose('hidden below debug', 'X');
    expect(lines).toEqual([
      expect.objectContaining({ level: 30, context: 'NestFactory', msg: 'started' }),
      expect.objectContaining({ level: 40, context: 'RateLimiter', msg: 'slow' }),
      expect.objectContaining({ level: 20, msg: 'detail' }),
    ]);
    expect(lines[2]).not.toHaveProperty('context');
  });

  it('keeps an error, its stack and the fields of an object', () => {
    const { stream, lines } = capture();
    const logger = new AppLogger(createRootLogger('info', stream));
    logger.error('send failed', 'Error: boom\n    at x', 'Pipeline');
    logger.error(new Error('kaput'), 'Pipeline');
    logger.log({ payoutId: 'p1', msg: 'routed' }, 'Pipeline');
    logger.fatal('down', { extra: 1 }, 'Main');
    expect(lines[0]).toEqual(
      expect.objectContaining({
        level: 50,
        msg: 'send failed',
        stack: 'Error: boom\n    at x',
        context: 'Pipeline',
      }),
    );
    expect(lines[1]).toEqual(expect.objectContaining({ level: 50, msg: 'kaput', context: 'Pipeline' }));
    expect((lines[1].err as { message: string }).message).toBe('kaput');
    expect(lines[2]).toEqual(
      expect.objectContaining({ level: 30, payoutId: 'p1', msg: 'routed', context: 'Pipeline' }),
    );
    expect(lines[3]).toEqual(
      expect.objectContaining({ level: 60, msg: 'down', params: [{ extra: 1 }], context: 'Main' }),
    );
  });

  it('redacts credentials should a line carry request headers', () => {
    const { stream, lines } = capture();
    createRootLogger('info', stream).info({ req: { headers: { authorization: 'Bearer pk_secret' } } }, 'x');
    expect(JSON.stringify(lines)).not.toContain('pk_secret');
  });
});

describe(logRequests.name, () => {
  async function serve(level: string) {
    const { stream, lines } = capture();
    const fastify = Fastify({ genReqId: () => 'req-1' });
    logRequests(fastify, pino({ level }, stream));
    fastify.get('/ok', async () => ({ ok: true }));
    fastify.get('/broken', async () => {
      throw new Error('boom');
    });
    await fastify.ready();
    return { fastify, lines };
  }

  it('writes one line per answered request: id, method, URL, status and time taken', async () => {
    const { fastify, lines } = await serve('info');
    await fastify.inject({ method: 'GET', url: '/ok?x=1' });
    await fastify.inject({ method: 'GET', url: '/broken' });
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
    ]);
  });

  it('writes nothing, and adds no hook, when info lines are off', async () => {
    const { fastify, lines } = await serve('warn');
    await fastify.inject({ method: 'GET', url: '/ok' });
    await fastify.close();
    expect(lines).toEqual([]);
  });
});
