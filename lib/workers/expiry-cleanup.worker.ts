import type { BeforeApplicationShutdown, LoggerService, OnModuleInit } from '@nestjs/common';

/**
 * Runs a cleanup pass every `interval` ms (never two at once on this node; the
 * database lock keeps it to one across nodes). Stopping waits for a running pass.
 * As a provider it starts on module init and stops before shutdown, ahead of
 * `SessionService` (which it depends on), so the pending accesses are written after
 * the last pass.
 */
export class ExpiryCleanupWorker implements OnModuleInit, BeforeApplicationShutdown {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;

  constructor(
    private readonly runPass: () => Promise<number>,
    private readonly interval: number,
    private readonly logger: LoggerService,
  ) {}

  onModuleInit(): void {
    this.start();
  }

  beforeApplicationShutdown(): Promise<void> {
    return this.stop();
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.tick(), this.interval);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  private tick(): void {
    if (this.running) return;
    // Started in a promise: a pass that throws at once is logged like one that rejects.
    this.running = Promise.resolve()
      .then(() => this.runPass())
      .then((deleted) => {
        if (deleted > 0) this.logger.log?.(`Cleanup deleted ${deleted} expired session(s).`);
      })
      .catch((err: unknown) => this.logger.error(`Cleanup of expired sessions failed: ${String(err)}`))
      .finally(() => {
        this.running = undefined;
      });
  }
}
