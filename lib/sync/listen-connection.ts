import pg from 'pg';

/** What a {@link ListenConnection} reports to its owner. */
export interface ListenHandlers {
  /** A notification on the channel (in order of arrival). */
  onNotification(payload: string | undefined): void;
  /** The connection was lost (or a heartbeat failed); the owner must stop trusting its cache. */
  onDown(reason: unknown): void;
  /**
   * LISTEN is active again after a loss (not called for the first connect). Resolve
   * once caught up; a rejection is treated as another loss.
   */
  onRecovered(): Promise<void>;
}

export interface ListenConnectionOptions {
  /** Connection settings of the dedicated client. */
  client: pg.ClientConfig;
  /** Quoted channel name. */
  channel: string;
  /** First reconnect delay; doubled per failed attempt. */
  reconnectInterval: number;
  /** Upper bound of the reconnect delay. @default 30 s */
  maxReconnectInterval?: number;
  /** How often a cheap query checks that the connection is really alive. @default 2 s */
  heartbeatInterval?: number;
  /** A heartbeat slower than this counts as a dead connection. @default 3 s */
  heartbeatTimeout?: number;
}

/**
 * One dedicated `pg.Client` (never a pool client) that LISTENs on a channel, with
 * TCP keep-alive, a heartbeat query to notice half-open connections within seconds,
 * and reconnection with capped exponential back-off. `start()` and `stop()` are
 * safe to call twice.
 */
export class ListenConnection {
  private client: pg.Client | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private retry: NodeJS.Timeout | undefined;
  private attempts = 0;
  private stopped = false;
  private started = false;
  private up = false;
  private connections = 0;

  constructor(
    private readonly options: ListenConnectionOptions,
    private readonly handlers: ListenHandlers,
  ) {}

  /** Whether LISTEN is active. */
  get isUp(): boolean {
    return this.up;
  }

  /**
   * Counts the connections that reached LISTEN. A caller that must know LISTEN stayed
   * active throughout some work compares it before and after (with {@link isUp}): a
   * drop and reconnect in between shows as a new generation.
   */
  get generation(): number {
    return this.connections;
  }

  /** Connects and LISTENs; rejects when the first connection fails. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await this.connect();
  }

  /** Closes the connection and cancels every timer. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.up = false;
    if (this.retry) clearTimeout(this.retry);
    this.retry = undefined;
    await this.teardown();
  }

  /** The backend pid of the LISTEN connection (for tests and diagnostics). */
  get backendPid(): number | undefined {
    return (this.client as unknown as { processID?: number } | undefined)?.processID;
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({ ...this.options.client, keepAlive: true, keepAliveInitialDelayMillis: 1000 });
    this.client = client;
    client.on('error', (err) => this.lost(client, err));
    client.on('end', () => this.lost(client, new Error('LISTEN connection ended')));
    const channel = this.options.channel.replace(/^"|"$/g, ''); // as the server reports it: unquoted
    client.on('notification', (message) => {
      if (message.channel === channel) this.handlers.onNotification(message.payload);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${this.options.channel}`);
    } catch (err) {
      this.client = undefined;
      client.removeAllListeners();
      client.on('error', () => undefined);
      await client.end().catch(() => undefined);
      throw err;
    }
    if (this.stopped) {
      await this.teardown();
      return;
    }
    this.connections++;
    this.up = true;
    this.startHeartbeat(client);
  }

  private startHeartbeat(client: pg.Client): void {
    const interval = this.options.heartbeatInterval ?? 2000;
    const timeout = this.options.heartbeatTimeout ?? 3000;
    this.heartbeat = setInterval(() => {
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`LISTEN heartbeat got no answer within ${timeout} ms`)), timeout);
        timer.unref();
      });
      Promise.race([client.query('SELECT 1'), deadline])
        .catch((err: unknown) => this.lost(client, err))
        .finally(() => clearTimeout(timer));
    }, interval);
    this.heartbeat.unref();
  }

  private lost(client: pg.Client, reason: unknown): void {
    if (client !== this.client || this.stopped) return;
    const wasUp = this.up;
    this.up = false;
    void this.teardown();
    if (wasUp || this.attempts === 0) this.handlers.onDown(reason);
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.stopped || this.retry) return;
    const max = this.options.maxReconnectInterval ?? 30_000;
    const delay = Math.min(max, this.options.reconnectInterval * 2 ** Math.min(this.attempts, 16));
    this.attempts++;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      void this.reconnect();
    }, delay);
    this.retry.unref();
  }

  private async reconnect(): Promise<void> {
    if (this.stopped) return;
    let connected: pg.Client | undefined;
    try {
      await this.connect();
      connected = this.client;
      if (this.stopped || !this.up) return;
      await this.handlers.onRecovered();
      this.attempts = 0;
    } catch (err) {
      if (this.stopped) return;
      // This connection dropped during recovery and a newer one is already being
      // recovered by its own run: leave that one alone.
      if (connected !== undefined && connected !== this.client) return;
      this.up = false;
      // Ends the client and its heartbeat timer (left running, it would ping a dead client forever).
      await this.teardown();
      this.scheduleReconnect();
    }
  }

  private async teardown(): Promise<void> {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
    const client = this.client;
    this.client = undefined;
    if (client) await this.endClient(client);
  }

  private async endClient(client: pg.Client): Promise<void> {
    client.removeAllListeners('notification');
    client.removeAllListeners('end');
    client.removeAllListeners('error');
    client.on('error', () => undefined);
    await client.end().catch(() => undefined);
  }
}
