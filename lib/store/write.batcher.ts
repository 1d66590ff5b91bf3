/**
 * One command's own outcome inside a batch: a result, or an error that is that command's
 * alone. With `later`, the batch's statement left the command unfinished (e.g. run it
 * again on a fresh snapshot): `value` is what the statement reported (for observers),
 * and the caller gets `later`'s outcome. The command's key stays busy until then, but
 * its batch's slot is free at once.
 */
export type BatchOutcome<R> = { ok: true; value: R; later?: Promise<BatchOutcome<R>> } | { ok: false; error: unknown };

/**
 * How long (ms) commands wait behind a batch in flight before they may use a free slot,
 * given the slowest recent batch duration (0 before the first batch), or null: never.
 * By default twice that, between 2 and 50 ms (50 before any batch completed).
 */
export type Patience = (recentSlowMs: number) => number | null;

const defaultPatience: Patience = (recentSlowMs) => (recentSlowMs === 0 ? 50 : Math.min(50, Math.max(2, 2 * recentSlowMs)));

/** Per batch, the slowest recent duration decays by this factor (toward the durations seen since). */
const SLOW_DECAY = 0.95;

type Item<C, R> = { command: C; resolve: (result: R) => void; reject: (error: unknown) => void };

/**
 * Coalesces concurrent writes (group commit): while a batch is being written, new
 * commands wait and then go together as the next batch (one statement, one commit, one
 * WAL flush). With nothing in flight a command is sent at once, so a lone write pays no
 * extra latency; otherwise the next batch leaves on the turn after a batch completes,
 * with everything submitted until then. A second batch (up to `maxInFlight`) leaves
 * beside one in flight only when a full batch (`maxBatch`) waits, or when the batch in
 * flight takes much longer than recent ones did (it waits for a row lock, say): one slow
 * batch must not hold back the writes of every other key.
 *
 * Commands for the same key keep their order: one never shares a batch with another
 * for its key (they would see the same snapshot), nor is it sent while an earlier one
 * for its key is unfinished. Each command gets its own outcome: `write` reports per
 * command, so one bad command fails only its own caller; a rejection of `write` itself
 * fails the whole batch.
 */
export class WriteBatcher<C extends { readonly id: string }, R> {
  private queue: Array<Item<C, R>> = [];
  private inFlight = 0;
  /** Keys of unfinished commands (in a batch being written, or finishing `later`). */
  private readonly busy = new Set<string>();
  /** A refill is scheduled for the next turn. */
  private scheduled = false;
  /** Fires when the batch in flight has taken too long for the commands waiting behind it. */
  private patienceTimer: NodeJS.Timeout | undefined;
  /**
   * The slowest recent batch duration in ms (a maximum that decays per batch), for the
   * patience above. Not an average: batches of one (sent when the patience ran out) are
   * fast, and an average they pull down would make a normal full batch look stuck, send
   * the next stragglers alone, and so on: the stream would split into batches of one.
   */
  private recentSlowMs = 0;
  /**
   * Told of every batch once written (metrics): its size, how long it took in seconds,
   * and the commands' outcomes, or null when the whole batch failed. Called per batch,
   * never per command. An observer that throws is ignored: it must not fail the writes.
   */
  onBatch: ((size: number, seconds: number, outcomes: ReadonlyArray<BatchOutcome<R>> | null) => void) | undefined;

  constructor(
    private readonly write: (commands: C[]) => Promise<Array<BatchOutcome<R>>>,
    private readonly maxInFlight: number,
    private readonly maxBatch: number,
    private readonly patience: Patience = defaultPatience,
  ) {}

  /** Queues one command; resolves with its own result, or rejects with its own (or its batch's) error. */
  submit(command: C): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ command, resolve, reject });
      // Alone: sent at once. Otherwise it waits for the next completed batch, whose slot
      // is refilled on the next turn with everything queued by then. Sending it to a free
      // slot at once would split the stream: a straggler goes alone beside a full batch,
      // and its caller's next update again, each paying a whole commit for one update. A
      // refill already scheduled means callers just released are queuing again: this
      // command waits for it too, even with nothing in flight.
      if ((this.inFlight === 0 && !this.scheduled) || (this.queue.length >= this.maxBatch && this.inFlight < this.maxInFlight)) this.pump();
      else this.armPatience();
    });
  }

  private schedulePump(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  /** Lets the waiting commands use a free slot if the batch in flight takes much longer than usual. */
  private armPatience(): void {
    if (this.patienceTimer !== undefined || this.inFlight === 0 || this.inFlight >= this.maxInFlight) return;
    const patience = this.patience(this.recentSlowMs);
    if (patience === null) return;
    this.patienceTimer = setTimeout(() => {
      this.patienceTimer = undefined;
      this.pump(true);
    }, patience);
    this.patienceTimer.unref();
  }

  private disarmPatience(): void {
    if (this.patienceTimer === undefined) return;
    clearTimeout(this.patienceTimer);
    this.patienceTimer = undefined;
  }

  /**
   * Sends what waits: everything when nothing is in flight; beside a batch in flight,
   * only a full batch, or anything once the patience ran out (`impatient`). A free slot
   * taken by a few commands would split the stream for good: each time their small batch
   * completes, the slot is free again and their callers' next commands go alone again,
   * never joining the big batch.
   */
  private pump(impatient = false): void {
    this.disarmPatience();
    while (this.inFlight < this.maxInFlight && this.queue.length > 0) {
      if (this.inFlight > 0 && !impatient && this.queue.length < this.maxBatch) break;
      if (this.queue.length === 1 && !this.busy.has(this.queue[0]!.command.id)) {
        // The common case of a lone write: no pass over the queue needed.
        const batch = this.queue;
        this.queue = [];
        this.busy.add(batch[0]!.command.id);
        this.send(batch);
        continue;
      }
      const batch: Array<Item<C, R>> = [];
      const rest: Array<Item<C, R>> = [];
      // A key is busy from the moment its command is taken, so a later command for it in
      // this pass waits too. One held back waits with every later one for its key: held
      // back because its key is busy, they are too; because the batch is full, so are they.
      for (const item of this.queue) {
        const id = item.command.id;
        if (batch.length < this.maxBatch && !this.busy.has(id)) {
          this.busy.add(id);
          batch.push(item);
        } else rest.push(item);
      }
      if (batch.length === 0) return; // everything queued waits for a key still unfinished
      this.queue = rest;
      this.send(batch);
    }
    if (this.queue.length > 0) this.armPatience();
  }

  /** Writes a batch whose commands' keys were marked busy when they were taken. */
  private send(batch: Array<Item<C, R>>): void {
    this.inFlight++;
    const started = performance.now();
    let written: Promise<Array<BatchOutcome<R>>>;
    try {
      written = this.write(batch.map((item) => item.command));
    } catch (error) {
      written = Promise.reject(error); // a write that throws instead of rejecting fails its batch alike
    }
    written.then(
      (outcomes) => {
        const ms = performance.now() - started;
        this.recentSlowMs = Math.max(ms, SLOW_DECAY * this.recentSlowMs);
        this.completed(batch, started, outcomes);
        for (let i = 0; i < batch.length; i++) {
          this.settle(batch[i]!, outcomes[i] ?? { ok: false, error: new Error('nestjs-pg-session: the batch write reported no outcome for this command.') });
        }
      },
      (error: unknown) => {
        this.completed(batch, started, null);
        for (const item of batch) this.settle(item, { ok: false, error });
      },
    );
  }

  /** Frees the batch's slot (refilled on the next turn, so released callers queue first) and tells the observer. */
  private completed(batch: Array<Item<C, R>>, started: number, outcomes: ReadonlyArray<BatchOutcome<R>> | null): void {
    this.inFlight--;
    this.schedulePump();
    try {
      this.onBatch?.(batch.length, (performance.now() - started) / 1000, outcomes);
    } catch {
      // Metrics must never fail or strand the writes they observe.
    }
  }

  /** Settles one command, now or when its `later` part finishes; then frees its key. */
  private settle(item: Item<C, R>, outcome: BatchOutcome<R>): void {
    if (outcome.ok && outcome.later) {
      outcome.later.then(
        (final) => this.settle(item, final),
        (error: unknown) => this.settle(item, { ok: false, error }),
      );
      return;
    }
    this.busy.delete(item.command.id);
    if (outcome.ok) item.resolve(outcome.value);
    else item.reject(outcome.error);
    // A command held back for this key may go now.
    if (this.queue.length > 0) this.schedulePump();
  }
}
