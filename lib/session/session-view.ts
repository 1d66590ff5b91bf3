import { assertIdentifier } from '../validation/text.validation.js';
import type { SessionSnapshot } from './session-snapshot.js';
import { assertAttributeKey, encodeAttribute, expiryMillis } from './attribute-codec.js';
import type { AttributeRecord, Session } from './session.interface.js';

/** A change made on a view and not yet saved. */
export interface PendingAttribute {
  readonly json: string;
  readonly expiresAt: number | null;
}

function isLiveAt(expiresAt: number | null, now: number): boolean {
  return expiresAt === null || expiresAt > now;
}

/**
 * The {@link Session} implementation: a pointer to an immutable snapshot plus state
 * created only when used (parsed values, pending changes). Building one costs a few
 * field writes, whatever the size of the attributes.
 * @internal
 */
export class SessionView implements Session {
  private parsed: Map<string, unknown> | undefined;
  private changes: Map<string, PendingAttribute> | undefined;
  private deletions: Set<string> | undefined;
  // Left unset until used (undefined = unchanged / not invalidated): a view is built on
  // every cache hit, so its constructor writes only what every view needs.
  private newGroupId: string | null | undefined;
  private invalidated: boolean | undefined;

  constructor(
    /** The committed state this view was read from. */
    readonly snapshot: SessionSnapshot,
    readonly fromCache: boolean,
    /** The access this view was read at (epoch ms; `lastAccessed` as a number, without a `Date`). @internal */
    readonly lastAccessedMs: number,
    private readonly maxAttributeLength: number,
  ) {}

  get id(): string { return this.snapshot.id; }
  get userId(): string { return this.snapshot.userId; }
  get version(): number { return this.snapshot.version; }
  get createdAt(): Date { return new Date(this.snapshot.createdAt); }
  get updatedAt(): Date { return new Date(this.snapshot.updatedAt); }
  get lastAccessed(): Date { return new Date(this.lastAccessedMs); }
  get expiresAt(): Date { return new Date(this.snapshot.expiresAt); }
  get includeInactivity(): boolean { return this.snapshot.includeInactivity; }
  get isInvalidated(): boolean { return this.invalidated === true; }

  get groupId(): string | null {
    return this.newGroupId === undefined ? this.snapshot.groupId : this.newGroupId;
  }
  set groupId(value: string | null) {
    if (value !== null) assertIdentifier(value, 'groupId');
    this.newGroupId = value;
  }

  get isModified(): boolean {
    return (
      (this.changes !== undefined && this.changes.size > 0) ||
      (this.deletions !== undefined && this.deletions.size > 0) ||
      (this.newGroupId !== undefined && this.newGroupId !== this.snapshot.groupId)
    );
  }

  getAttribute<T = unknown>(key: string): T | undefined {
    const json = this.liveJson(key, Date.now());
    return json === undefined ? undefined : (this.parse(key, json) as T);
  }

  getAttributeRecord(key: string): AttributeRecord | undefined {
    const now = Date.now();
    const json = this.liveJson(key, now);
    if (json === undefined) return undefined;
    const pending = this.changes?.get(key);
    const expiresAt = pending !== undefined ? pending.expiresAt : this.snapshot.attributes.expiresAt(this.snapshot.attributes.slot(key));
    return {
      value: this.parse(key, json),
      expiresAt: expiresAt === null ? null : new Date(expiresAt),
      version: this.readVersion(key, now),
    };
  }

  getAttributes(): Record<string, AttributeRecord> {
    const result: Record<string, AttributeRecord> = {};
    const keys = new Set(this.snapshot.attributes.keys());
    if (this.changes) for (const key of this.changes.keys()) keys.add(key);
    for (const key of keys) {
      const record = this.getAttributeRecord(key);
      if (record !== undefined) result[key] = record;
    }
    return result;
  }

  hasAttribute(key: string): boolean {
    return this.liveJson(key, Date.now()) !== undefined;
  }

  setAttribute(key: string, value: unknown, options?: { expiresAt?: Date }): void {
    assertAttributeKey(key);
    const expiresAt = options?.expiresAt === undefined ? null : expiryMillis(options.expiresAt, `expiresAt of attribute "${key}"`);
    const json = encodeAttribute(key, value, this.maxAttributeLength);
    (this.changes ??= new Map()).set(key, { json, expiresAt });
    this.deletions?.delete(key);
    this.parsed?.delete(key);
  }

  deleteAttribute(key: string): void {
    assertAttributeKey(key);
    this.changes?.delete(key);
    this.parsed?.delete(key);
    if (this.snapshot.attributes.has(key)) (this.deletions ??= new Set()).add(key);
  }

  invalidate(): void {
    this.invalidated = true;
  }

  /** Pending attribute writes (internal, read by the service). */
  pendingChanges(): ReadonlyMap<string, PendingAttribute> {
    return this.changes ?? EMPTY_CHANGES;
  }

  /** Pending attribute deletions (internal). */
  pendingDeletions(): ReadonlySet<string> {
    return this.deletions ?? EMPTY_KEYS;
  }

  /** The group id change, or undefined when unchanged (internal). */
  pendingGroupId(): string | null | undefined {
    return this.newGroupId === undefined || this.newGroupId === this.snapshot.groupId ? undefined : this.newGroupId;
  }

  /**
   * The attribute version this view read: the snapshot's when it was live at `now`,
   * else 0 (absent or expired when read) (internal).
   */
  readVersion(key: string, now: number): number {
    const attributes = this.snapshot.attributes;
    const slot = attributes.slot(key);
    return slot >= 0 && isLiveAt(attributes.expiresAt(slot), now) ? attributes.version(slot) : 0;
  }

  toJSON(): Record<string, unknown> {
    return {
      id: this.id,
      userId: this.userId,
      groupId: this.groupId,
      version: this.version,
      createdAt: this.createdAt,
      updatedAt: this.updatedAt,
      lastAccessed: this.lastAccessed,
      expiresAt: this.expiresAt,
      includeInactivity: this.includeInactivity,
      attributes: Object.fromEntries(Object.entries(this.getAttributes()).map(([k, r]) => [k, r.value])),
    };
  }

  /** The JSON text of a live attribute (pending change first), or undefined. */
  private liveJson(key: string, now: number): string | undefined {
    const pending = this.changes?.get(key);
    if (pending !== undefined) return isLiveAt(pending.expiresAt, now) ? pending.json : undefined;
    if (this.deletions?.has(key)) return undefined;
    const attributes = this.snapshot.attributes;
    const slot = attributes.slot(key);
    return slot >= 0 && isLiveAt(attributes.expiresAt(slot), now) ? attributes.json(slot) : undefined;
  }

  private parse(key: string, json: string): unknown {
    const parsed = (this.parsed ??= new Map());
    if (parsed.has(key)) return parsed.get(key);
    const value: unknown = JSON.parse(json);
    parsed.set(key, value);
    return value;
  }
}

const EMPTY_CHANGES: ReadonlyMap<string, PendingAttribute> = new Map();
const EMPTY_KEYS: ReadonlySet<string> = new Set();
