/** Counters and state of this node's cache synchronisation, shared with `stats()`. */
export class SyncState {
  /** Whether the LISTEN connection is up. */
  listening = false;
  /** Invalidations received from other nodes. */
  notificationsReceived = 0;
  /** Completed re-checks of the cache after a gap. */
  resyncs = 0;
}
