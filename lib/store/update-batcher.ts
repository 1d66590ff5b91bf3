/**
 * Coalesces concurrent writes: while `maxInFlight` batches are being written, new
 * commands wait and then go together as the next batch (one statement, one
 * transaction, one WAL flush). With nothing in flight a command is sent at once, so
 * a lone write pays no extra latency. Two commands for the same key never share a
 * batch (they would see the same snapshot); they keep their order.
 */
export class WriteBatcher<C extends { readonly id: string }, R> {
  private queue: Array<{ command: C; resolve: (result: R) => void; reject: (error: unknown) => void }> = [];
  private inFlight = 0;

  constructor(
    private readonly write: (commands: C[]) => Promise<R[]>,
    private readonly maxInFlight: number,
    private readonly maxBatch: number,
  ) {}

  /** Queues one command; resolves with its own result, or rejects with its batch's error. */
  submit(command: C): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ command, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.inFlight < this.maxInFlight && this.queue.length > 0) {
      const batch: typeof this.queue = [];
      const rest: typeof this.queue = [];
      const ids = new Set<string>();
      for (const item of this.queue) {
        if (batch.length < this.maxBatch && !ids.has(item.command.id)) {
          ids.add(item.command.id);
          batch.push(item);
        } else {
          rest.push(item);
        }
      }
      this.queue = rest;
      this.inFlight++;
      this.write(batch.map((item) => item.command))
        .then(
          (results) => batch.forEach((item, i) => item.resolve(results[i]!)),
          (error: unknown) => batch.forEach((item) => item.reject(error)),
        )
        .finally(() => {
          this.inFlight--;
          this.pump();
        });
    }
  }
}
