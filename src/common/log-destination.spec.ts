import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { waitFor } from '../../test/support/app';
import { FLUSH_EVERY_MS, LogDestination } from './log-destination';

describe(LogDestination.name, () => {
  const dirs: string[] = [];
  const file = () => {
    dirs.push(mkdtempSync(join(tmpdir(), 'log-destination-')));
    return join(dirs[dirs.length - 1], 'out.log');
  };

  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });
  const lines = (path: string) => readFileSync(path, 'utf8').split('\n').filter(Boolean);

  it('holds short lines back from a write each, and writes them once FLUSH_EVERY_MS has passed', async () => {
    // Only the flush interval runs on a fake clock; file I/O, and waitFor's polling, stay real.
    jest.useFakeTimers({
      doNotFake: ['Date', 'nextTick', 'setImmediate', 'queueMicrotask', 'setTimeout', 'clearTimeout'],
    });
    const path = file();
    const destination = new LogDestination(path);
    try {
      await new Promise((resolve) => destination.stream.once('ready', resolve));
      pino(destination.stream).info('one short line');
      expect(lines(path)).toEqual([]);
      jest.advanceTimersByTime(FLUSH_EVERY_MS);
      await waitFor(async () => lines(path).length === 1, { what: 'the line to be written' });
      expect(JSON.parse(lines(path)[0]).msg).toBe('one short line');
    } finally {
      destination.onApplicationShutdown();
      jest.useRealTimers();
    }
  });

  it('writes out what is left when the app shuts down', async () => {
    const path = file();
    const destination = new LogDestination(path);
    await new Promise((resolve) => destination.stream.once('ready', resolve));
    const log = pino(destination.stream);
    log.info('first');
    log.info('last');
    destination.onApplicationShutdown();
    expect(lines(path).map((l) => JSON.parse(l).msg)).toEqual(['first', 'last']);
  });
});
