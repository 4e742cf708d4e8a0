import { captureLines } from '../../test/support/log-lines';
import { AppLogger, createRootLogger } from './app-logger';
import { jobLogContext, withLogContext } from './log-context';

describe(AppLogger.name, () => {
  it("writes Nest's calls as pino lines with their context", () => {
    const { stream, lines } = captureLines();
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
    const { stream, lines } = captureLines();
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

  it('leaves out what a Logger with a context pads its call with', () => {
    const { stream, lines } = captureLines();
    new AppLogger(createRootLogger('info', stream)).error('refused', undefined, 'Errors');
    expect(lines).toEqual([{ ...lines[0], level: 50, msg: 'refused', context: 'Errors' }]);
    expect(lines[0]).not.toHaveProperty('params');
    expect(lines[0]).not.toHaveProperty('stack');
  });

  it('redacts credentials wherever a line carries headers', () => {
    const { stream, lines } = captureLines();
    const root = createRootLogger('info', stream);
    root.info({ req: { headers: { authorization: 'Bearer pk_secret1' } } }, 'x');
    root.info({ delivery: { headers: { 'stripe-signature': 't=1,v1=sig_secret2' } } }, 'x');
    new AppLogger(root).warn('x', { headers: { cookie: 'session=secret3' } }, 'Ctx');
    const written = JSON.stringify(lines);
    for (const secret of ['pk_secret1', 'sig_secret2', 'secret3']) expect(written).not.toContain(secret);
    expect(written.match(/\[redacted\]/g)).toHaveLength(3);
  });

  it('names the request or job a line was written for, through every await, and nothing outside of one', async () => {
    const { stream, lines } = captureLines();
    const logger = new AppLogger(createRootLogger('info', stream));
    const pause = () => new Promise((resolve) => setTimeout(resolve, 1));
    const work = async (name: string) => {
      logger.log({ payoutId: 'p1', msg: `${name} starts` }, 'Work');
      await pause();
      logger.warn(`${name} after a pause`, 'Work');
    };
    await Promise.all([
      withLogContext({ reqId: 'req-7' }, () => work('request')),
      withLogContext(jobLogContext({ queueName: 'route-payout', id: 'route:p1' }), () => work('job')),
    ]);
    logger.log('outside', 'Main');
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ msg: 'request after a pause', reqId: 'req-7', context: 'Work' }),
        expect.objectContaining({ msg: 'job after a pause', queue: 'route-payout', jobId: 'route:p1' }),
      ]),
    );
    // One line's own fields stay on that line.
    expect(lines.find((line) => line.msg === 'job after a pause')).not.toHaveProperty('payoutId');
    const outside = lines.find((line) => line.msg === 'outside');
    expect(outside).toBeDefined();
    expect(outside).not.toHaveProperty('reqId');
    expect(outside).not.toHaveProperty('jobId');
  });
});
