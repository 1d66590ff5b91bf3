/** Counters and state of this node's cache synchronisation, shared with `stats()` and the health check. */
export class SyncState {
  /** Whether the LISTEN connection is up. */
  listening = false;
  /** Invalidations received from other nodes. */
  notificationsReceived = 0;
  /** Completed re-checks of the cache after a gap. */
  resyncs = 0;
  /** When (epoch ms) the current LISTEN outage started; null while listening or before the first connect. */
  downSince: number | null = null;
  /** Whether a re-check of the cache after a gap is running. */
  resyncing = false;
}
