/** One attribute as a caller sees it. */
export interface AttributeRecord {
  /** The value as JSON round-trips it (a `Date` reads back as its ISO string). */
  value: unknown;
  /** When the attribute stops being visible, or null. */
  expiresAt: Date | null;
  /** Version of the attribute when the session was read (0 if it did not exist then). */
  version: number;
}

/** An attribute given to `createSession`; `T` is its value's type. */
export interface AttributeInput<T = unknown> {
  value: T;
  /** Hide the attribute after this instant (and let cleanup delete it). */
  expiresAt?: Date | undefined;
}

/**
 * The initial attributes of `createSession<TAttributes>`: a key declared in
 * `TAttributes` must get a value of its declared type; other keys take any value.
 */
export type InitialAttributes<TAttributes extends object = Record<string, unknown>> = {
  [K in keyof NoInference<TAttributes> & string]?: AttributeInput<NoInference<TAttributes>[K]>;
} & Record<string, AttributeInput>;

/**
 * `T`, out of reach of type inference: `createSession`'s attribute map comes from an
 * explicit type argument only, never from the initial values (which would pin each
 * attribute to its first value's type, `never[]` for an empty array). Works on every
 * TypeScript version, unlike the built-in `NoInfer` (5.4+).
 */
type NoInference<T> = [T][T extends unknown ? 0 : never];

/**
 * A session as a caller holds it: a private view over the committed state that was
 * read, plus this caller's own pending changes. Changing it (or a value read from it)
 * never affects the cache or another caller; `SessionService.updateSession` saves it.
 *
 * @typeParam TAttributes - optional map of attribute keys to value types, for typed
 *   `getAttribute` / `setAttribute` (see "Typed attributes" in docs/sessions.md).
 */
export interface Session<TAttributes extends object = Record<string, unknown>> {
  readonly id: string;
  readonly userId: string;
  /** Group (tenant, account…) of the session; assigning it marks the session modified. */
  groupId: string | null;
  /** Incremented by one on every successful update. */
  readonly version: number;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  /** Last access known to this node (this read included). */
  readonly lastAccessed: Date;
  readonly expiresAt: Date;
  /** Whether `inactivityDuration` applies to this session. */
  readonly includeInactivity: boolean;
  /** True when this read was served from the node's cache. */
  readonly fromCache: boolean;
  /** True after `setAttribute`, `deleteAttribute` or a `groupId` change. */
  readonly isModified: boolean;
  /** True after `invalidate()`. */
  readonly isInvalidated: boolean;

  /** The live value of an attribute, parsed once per session object; undefined when absent or expired. */
  getAttribute<K extends keyof TAttributes & string>(key: K): TAttributes[K] | undefined;
  getAttribute<T = unknown>(key: string): T | undefined;
  /** Value, expiry and version of a live attribute. */
  getAttributeRecord(key: string): AttributeRecord | undefined;
  /** Every live attribute. */
  getAttributes(): Record<string, AttributeRecord>;
  hasAttribute(key: string): boolean;
  /**
   * Sets an attribute on this object (saved by `updateSession`).
   * @throws TypeError when JSON cannot round-trip the value, or the key or expiry is invalid.
   * @throws AttributeTooLargeError when the JSON form exceeds `maxAttributeLength` bytes.
   */
  setAttribute<K extends keyof TAttributes & string>(key: K, value: TAttributes[K], options?: { expiresAt?: Date | undefined }): void;
  /** Keys outside `TAttributes` (a typed key must get a value of its declared type). */
  setAttribute<K extends string>(key: K extends keyof TAttributes ? never : K, value: unknown, options?: { expiresAt?: Date | undefined }): void;
  /** Removes an attribute on this object (saved by `updateSession`). */
  deleteAttribute(key: string): void;
  /** Marks this object unusable for `updateSession` (it then throws `SessionInvalidatedError`). */
  invalidate(): void;
}
