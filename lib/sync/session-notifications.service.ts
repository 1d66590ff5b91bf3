import { Injectable } from '@nestjs/common';
import type { Observable } from 'rxjs';
import type { SessionChange, SyncStatus } from './session-change.js';
import { SessionSync } from './session-sync.service.js';

/**
 * What this node hears from the others, as read-only streams.
 *
 * @example
 * notifications.changes$.subscribe((c) => metrics.increment(`session.invalidation.${c.type}`));
 * notifications.status$.subscribe((s) => s === 'reconnecting' && logger.warn('cache bypassed'));
 */
@Injectable()
export class SessionNotifications {
  /**
   * Every invalidation received from another node, emitted after it was applied to
   * this node's cache (so a `getSession` made in the handler sees the change).
   */
  readonly changes$: Observable<SessionChange>;
  /**
   * `'listening'` once the LISTEN connection is up at start, `'reconnecting'` when it
   * is lost (the cache is bypassed from then on), `'resynced'` when it is back and the
   * cache was re-checked (caching resumes).
   */
  readonly status$: Observable<SyncStatus>;

  constructor(sync: SessionSync) {
    this.changes$ = sync.changes$;
    this.status$ = sync.status$;
  }
}
