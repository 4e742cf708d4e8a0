import { Job, Queue, Worker } from 'bullmq';
import { randomUUID } from 'node:crypto';
import { AppConfig, loadConfig } from '../config/app-config';
import { FailedJobPruner } from './failed-job-pruner.service';
import { PayoutQueues } from './payout-queues.service';
import { QUEUES } from './queues';

const HOUR_MS = 60 * 60 * 1000;

describe(FailedJobPruner.name, () => {
  let config: AppConfig;
  let prefix: string;
  let route: Queue;
  let settle: Queue;
  let send: Queue;
  let workers: Worker<unknown, void>[];
  let pruner: FailedJobPruner;

  beforeEach(() => {
    config = loadConfig();
    const connection = { url: config.redisUrl };
    prefix = `${config.queuePrefix}:pruner-${randomUUID()}`;
    const queue = (name: string) => new Queue(name, { connection, prefix });
    route = queue(QUEUES.routePayout);
    settle = queue(QUEUES.settlePayout);
    send = queue(QUEUES.sendPayout);
    // Every job fails at once, as a step that gave up does.
    workers = [route, settle].map(
      (q) =>
        new Worker(
          q.name,
          async (): Promise<void> => {
            throw new Error('gave up');
          },
          { connection, prefix },
        ),
    );
    pruner = new FailedJobPruner(new PayoutQueues(route, send, settle), config);
  });

  afterEach(async () => {
    jest.restoreAllMocks();
    await Promise.all(workers.map((w) => w.close()));
    for (const q of [route, send, settle]) {
      await q.obliterate({ force: true });
      await q.close();
    }
  });

  /** Adds a job that fails on its one try; answers it once failed. */
  async function failedJob(queue: Queue, name: string): Promise<Job> {
    const worker = workers[queue === route ? 0 : 1];
    const failed = new Promise<void>((resolve) =>
      worker.on('failed', (job) => {
        if (job?.name === name) resolve();
      }),
    );
    await queue.add(name, {}, { attempts: 1, removeOnFail: false });
    await failed;
    const [job] = (await queue.getFailed()).filter((j) => j.name === name);
    return job;
  }

  it('removes the pipeline jobs that failed longer ago than the retention, in every queue, and keeps the others', async () => {
    const old = await failedJob(route, 'old');
    expect(await pruner.prune(HOUR_MS)).toBe(0);

    // An hour and a bit later, another step fails.
    const later = old.finishedOn! + HOUR_MS + 1;
    jest.spyOn(Date, 'now').mockReturnValue(later);
    const recent = await failedJob(settle, 'recent');
    expect(recent.finishedOn).toBe(later);

    expect(await pruner.prune(HOUR_MS)).toBe(1);
    expect(await route.getFailedCount()).toBe(0);
    expect((await settle.getFailed()).map((j) => j.name)).toEqual(['recent']);
  });
});
