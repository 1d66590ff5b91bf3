/** One attribute as stored: its JSON text, never a parsed value. */
export interface StoredAttribute {
  readonly json: string;
  /** Epoch milliseconds, or null for no expiry. */
  readonly expiresAt: number | null;
  readonly version: number;
}

/** `[key, json, expiresAtMs | null, version]`. */
export type AttributeTuple = [string, string, number | null, number];

const WIDTH = 4;
/** Past this many attributes a key → slot map is built once per table (lazily). */
const LINEAR_LIMIT = 16;
const EMPTY: readonly unknown[] = Object.freeze([]);

/**
 * The attributes of one session snapshot, immutable and compact: one flat frozen
 * array `[key, json, expiresAt, version, …]` instead of a `Map` of objects, because
 * every cached session holds one (a few hundred bytes less each). Lookups scan the
 * keys (sessions have few attributes); large tables get a key index on first use.
 */
export class StoredAttributes {
  private index: Map<string, number> | undefined;

  private constructor(private readonly cells: readonly unknown[]) {}

  static readonly empty = new StoredAttributes(EMPTY);

  /** Builds a table; later tuples with the same key replace earlier ones. */
  static fromTuples(tuples: Iterable<AttributeTuple>): StoredAttributes {
    const cells: unknown[] = [];
    for (const [key, json, expiresAt, version] of tuples) put(cells, key, json, expiresAt, version);
    return StoredAttributes.frozen(cells);
  }

  /** Number of attributes. */
  get size(): number {
    return this.cells.length / WIDTH;
  }

  /** Slot of `key`, or -1. Pass the slot to the accessors below. */
  slot(key: string): number {
    if (this.cells.length <= LINEAR_LIMIT * WIDTH) return slotOf(this.cells, key);
    if (this.index === undefined) {
      this.index = new Map();
      for (let i = 0; i < this.cells.length; i += WIDTH) this.index.set(this.cells[i] as string, i);
    }
    return this.index.get(key) ?? -1;
  }

  has(key: string): boolean {
    return this.slot(key) >= 0;
  }

  json(slot: number): string {
    return this.cells[slot + 1] as string;
  }

  expiresAt(slot: number): number | null {
    return this.cells[slot + 2] as number | null;
  }

  version(slot: number): number {
    return this.cells[slot + 3] as number;
  }

  /** The attribute under `key` as an object (allocates; not for hot paths). */
  get(key: string): StoredAttribute | undefined {
    const slot = this.slot(key);
    return slot < 0 ? undefined : { json: this.json(slot), expiresAt: this.expiresAt(slot), version: this.version(slot) };
  }

  *keys(): IterableIterator<string> {
    for (let i = 0; i < this.cells.length; i += WIDTH) yield this.cells[i] as string;
  }

  *tuples(): IterableIterator<AttributeTuple> {
    for (let i = 0; i < this.cells.length; i += WIDTH) {
      yield [this.cells[i] as string, this.cells[i + 1] as string, this.cells[i + 2] as number | null, this.cells[i + 3] as number];
    }
  }

  /**
   * A new table: this one without `deleted`, with `keys` set to `values` and `expiries`
   * (replacing same keys), all at `version`.
   */
  with(
    deleted: readonly string[],
    keys: readonly string[],
    values: readonly string[],
    expiries: ReadonlyArray<number | null>,
    version: number,
  ): StoredAttributes {
    // Copies the cells directly (every update builds one of these): kept keys keep their
    // place, written ones replace theirs or are appended.
    const cells: unknown[] = [];
    for (let i = 0; i < this.cells.length; i += WIDTH) {
      if (deleted.length === 0 || !deleted.includes(this.cells[i] as string)) cells.push(this.cells[i], this.cells[i + 1], this.cells[i + 2], this.cells[i + 3]);
    }
    for (let k = 0; k < keys.length; k++) put(cells, keys[k]!, values[k]!, expiries[k]!, version);
    return StoredAttributes.frozen(cells);
  }

  private static frozen(cells: unknown[]): StoredAttributes {
    return cells.length === 0 ? StoredAttributes.empty : new StoredAttributes(Object.freeze(cells));
  }
}

/** Sets one attribute in a table being built: replaces the key's cells, or appends them. */
function put(cells: unknown[], key: string, json: string, expiresAt: number | null, version: number): void {
  const shared = internKey(key);
  const at = slotOf(cells, shared);
  if (at < 0) {
    cells.push(shared, json, expiresAt, version);
    return;
  }
  cells[at] = shared;
  cells[at + 1] = json;
  cells[at + 2] = expiresAt;
  cells[at + 3] = version;
}

function slotOf(cells: readonly unknown[], key: string): number {
  for (let i = 0; i < cells.length; i += WIDTH) if (cells[i] === key) return i;
  return -1;
}

/**
 * Attribute keys repeat across sessions ("cart", "role"…), but each row read from the
 * database brings its own copy of the string. Sharing one copy per distinct key saves
 * that memory in every cached session; the table is bounded, so odd keys cost nothing.
 */
const internedKeys = new Map<string, string>();
const MAX_INTERNED_KEYS = 10_000;

function internKey(key: string): string {
  const known = internedKeys.get(key);
  if (known !== undefined) return known;
  if (internedKeys.size < MAX_INTERNED_KEYS) internedKeys.set(key, key);
  return key;
}
