import { Logger } from '@nestjs/common';

/**
 * A pass run every interval, one at a time: a tick that finds the last pass still running lets it be. A pass
 * that fails is logged and the next one runs as planned; `stop` waits for the pass under way, so a shutdown
 * never closes the database under it.
 */
export class PeriodicTask {
  private timer: NodeJS.Timeout | undefined;
  private first: NodeJS.Timeout | undefined;
  private running: Promise<void> | null = null;
  /** Aborted by `stop`: a pass that waits on something slow (a provider's API) gives up instead of holding the stop. */
  private readonly stopping = new AbortController();

  constructor(
    private readonly logger: Logger,
    /** How a failed pass is logged: "<failure>: <the error's message>". */
    private readonly failure: string,
    /** One pass; answers a line to log about what it did, or null when there is nothing to say. */
    private readonly pass: (stopping: AbortSignal) => Promise<string | null>,
  ) {}

  /** A pass every `intervalMs`; with `firstAfterMs`, one more that long after the start. */
  start(intervalMs: number, firstAfterMs?: number): void {
    this.timer = setInterval(() => this.tick(), intervalMs);
    if (firstAfterMs !== undefined) this.first = setTimeout(() => this.tick(), firstAfterMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    clearTimeout(this.first);
    this.timer = undefined;
    this.first = undefined;
    this.stopping.abort(new Error('the task was stopped'));
    await this.running;
  }

  private tick(): void {
    if (this.running || this.stopping.signal.aborted) return;
    this.running = this.pass(this.stopping.signal)
      .then((line) => {
        if (line) this.logger.log(line);
      })
      .catch((error: Error) => this.logger.warn(`${this.failure}: ${error.message}`))
      .finally(() => {
        this.running = null;
      });
  }
}
