import { PayoutSweeper } from '../src/payouts/payout-sweeper.service';
import { startApp } from './support/app';

/**
 * A periodic pass under way when the worker stops (a sweep, say) ends against an open database and open queues:
 * the stop waits for it before anything it uses is closed.
 */
describe('a periodic pass under way at a graceful stop (e2e)', () => {
  it('finishes its database work before the database closes', async () => {
    const worker = await startApp(
      { SWEEP_INTERVAL_MS: '100', QUEUE_PREFIX: `${process.env.QUEUE_PREFIX}:periodic-stop` },
      { role: 'worker' },
    );
    const sweeper = worker.app.get(PayoutSweeper);
    const sweep = sweeper.sweep.bind(sweeper);
    let passStarted!: () => void;
    const started = new Promise<void>((resolve) => (passStarted = resolve));
    let stopAsked!: () => void;
    const stopping = new Promise<void>((resolve) => (stopAsked = resolve));
    let outcome: Promise<number> | undefined;
    jest.spyOn(sweeper, 'sweep').mockImplementationOnce(async () => {
      passStarted();
      // The pass goes on to its database work only once the stop has reached the sweeper itself.
      await stopping;
      outcome = sweep();
      return outcome;
    });
    const hooks = sweeper as unknown as Record<string, (() => Promise<void>) | undefined>;
    for (const hook of ['beforeApplicationShutdown', 'onApplicationShutdown']) {
      const own = hooks[hook];
      if (own) {
        hooks[hook] = () => {
          stopAsked();
          return own.call(sweeper);
        };
      }
    }
    await started;
    await worker.close();
    expect(outcome).toBeDefined();
    await expect(outcome).resolves.toBeGreaterThanOrEqual(0);
  });
});
