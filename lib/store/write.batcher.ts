/** One command's own outcome inside a batch: a result, or an error that is that command's alone. */
export type BatchOutcome<R> = { ok: true; value: R } | { ok: false; error: unknown };

/**
 * Coalesces concurrent writes (group commit): while a batch is being written, new
 * commands wait and then go together as the next batch (one statement, one commit, one
 * WAL flush). With nothing in flight a command is sent at once, so a lone write pays no
 * extra latency; otherwise the next batch leaves on the turn after a batch completes,
 * with everything submitted until then (a second batch, up to `maxInFlight`, only when
 * more than `maxBatch` commands wait).
 *
 * Commands for the same key keep their order: one never shares a batch with another
 * for its key (they would see the same snapshot), nor is it sent while an earlier one
 * for its key is still in flight. Each command gets its own outcome: `write` reports
 * per command, so one bad command fails only its own caller; a rejection of `write`
 * itself fails the whole batch.
 */
export class WriteBatcher<C extends { readonly id: string }, R> {
  private queue: Array<{ command: C; resolve: (result: R) => void; reject: (error: unknown) => void }> = [];
  private inFlight = 0;
  /** Keys of the commands in batches being written. */
  private readonly busy = new Set<string>();
  /**
   * Told of every batch once written (metrics): its size, how long it took in seconds,
   * and the commands' outcomes, or null when the whole batch failed. Called per batch,
   * never per command.
   */
  onBatch: ((size: number, seconds: number, outcomes: ReadonlyArray<BatchOutcome<R>> | null) => void) | undefined;

  constructor(
    private readonly write: (commands: C[]) => Promise<Array<BatchOutcome<R>>>,
    private readonly maxInFlight: number,
    private readonly maxBatch: number,
  ) {}

  /** Queues one command; resolves with its own result, or rejects with its own (or its batch's) error. */
  submit(command: C): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ command, resolve, reject });
      // Alone: sent at once. Otherwise it waits for the next completed batch, whose slot
      // is refilled on the next turn with everything queued by then (see pump's caller).
      // Sending it to a free slot at once would split the stream: a straggler goes alone
      // beside a full batch, and its caller's next update again, each paying a whole
      // commit for one update. A refill already scheduled means callers just released
      // are queuing again: this command waits for it too, even with nothing in flight.
      if (this.inFlight === 0 && !this.scheduled) this.pump();
    });
  }

  private scheduled = false;

  private schedulePump(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    while (this.inFlight < this.maxInFlight && this.queue.length > 0) {
      const batch: typeof this.queue = [];
      const rest: typeof this.queue = [];
      // Keys seen in this pass, taken or held back: a later command for a key waits
      // behind an earlier one in the queue as well as behind one in flight.
      const seen = new Set<string>();
      for (const item of this.queue) {
        const id = item.command.id;
        if (batch.length < this.maxBatch && !seen.has(id) && !this.busy.has(id)) batch.push(item);
        else rest.push(item);
        seen.add(id);
      }
      if (batch.length === 0) return; // everything queued waits for a key in flight
      this.queue = rest;
      this.inFlight++;
      for (const item of batch) this.busy.add(item.command.id);
      const started = this.onBatch ? performance.now() : 0;
      this.write(batch.map((item) => item.command))
        .then(
          (outcomes) => {
            this.onBatch?.(batch.length, (performance.now() - started) / 1000, outcomes);
            batch.forEach((item, i) => {
              const outcome = outcomes[i]!;
              if (outcome.ok) item.resolve(outcome.value);
              else item.reject(outcome.error);
            });
          },
          (error: unknown) => {
            this.onBatch?.(batch.length, (performance.now() - started) / 1000, null);
            batch.forEach((item) => item.reject(error));
          },
        )
        .finally(() => {
          for (const item of batch) this.busy.delete(item.command.id);
          this.inFlight--;
          // Refilled on the next turn: the callers this batch just released queue their
          // next updates first, so they go together instead of one by one.
          this.schedulePump();
        });
    }
  }
}
