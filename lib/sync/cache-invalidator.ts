import { randomUUID } from 'node:crypto';
import type { SessionCache } from '../cache/session.cache.js';
import { encodeSingle } from './notification-codec.js';
import type { SessionChange } from './session-change.js';

/**
 * Turns changes into cache invalidations: applied here (after this node's commit)
 * and, as NOTIFY payloads sent in the write's transaction, on every other node.
 */
export class CacheInvalidator {
  /** Identifies this node in its notifications, so it can ignore its own. */
  readonly nodeId = randomUUID();

  constructor(private readonly cache: SessionCache) {}

  /** The payload describing a change of one id (always fits one NOTIFY). */
  payload(change: SessionChange): string {
    return encodeSingle(this.nodeId, change);
  }

  /** Applies a change to this node's cache. */
  apply(change: SessionChange): void {
    switch (change.type) {
      case 'sessions':
        this.cache.invalidateSessions(change.ids);
        break;
      case 'user':
        this.cache.invalidateUsers(change.ids);
        break;
      case 'group':
        this.cache.invalidateGroups(change.ids);
        break;
      case 'all':
        this.cache.clear();
        break;
    }
  }
}
