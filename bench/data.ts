import { createHash } from 'node:crypto';

/**
 * The one data set every implementation reads and writes: N sessions, each with the
 * same 5 attributes (~300 bytes of JSON together), generated deterministically from
 * the session's index, so the library, the floors and the peers store identical data.
 */

/** The attribute keys, in order. */
export const ATTRIBUTE_KEYS = ['user', 'roles', 'prefs', 'cart', 'nav'] as const;
/** The attribute every update scenario changes. */
export const UPDATED_KEY = 'nav';

export type Attributes = Record<(typeof ATTRIBUTE_KEYS)[number], unknown>;

/** Small deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FIRST = ['Ada', 'Grace', 'Linus', 'Barbara', 'Ken', 'Margaret', 'Dennis', 'Frances', 'Edsger', 'Radia'];
const LAST = ['Lovelace', 'Hopper', 'Torvalds', 'Liskov', 'Thompson', 'Hamilton', 'Ritchie', 'Allen', 'Dijkstra', 'Perlman'];
const ROLES = ['reader', 'editor', 'billing', 'admin', 'support', 'auditor'];
const LANGS = ['en-GB', 'de-DE', 'fr-FR', 'ja-JP', 'pt-BR'];
const ZONES = ['Europe/Berlin', 'America/New_York', 'Asia/Tokyo', 'Europe/London', 'America/Sao_Paulo'];

/** A deterministic UUID v4 for index `i` of data set `salt` (so every run uses the same ids). */
export function uuidFor(salt: string, i: number): string {
  const h = createHash('sha256').update(`${salt}:${i}`).digest();
  h[6] = (h[6]! & 0x0f) | 0x40;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}

/** The 5 attribute values of session `i`. */
export function attributesFor(i: number): Attributes {
  const r = prng(i * 7919 + 17);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const first = pick(FIRST);
  const last = pick(LAST);
  const cart: Array<{ sku: string; qty: number }> = [];
  for (let k = 0; k < 2; k++) cart.push({ sku: `SKU-${100000 + Math.floor(r() * 900000)}`, qty: 1 + Math.floor(r() * 4) });
  return {
    user: { id: 1_000_000 + i, name: `${first} ${last}`, email: `${first}.${last}${i}@example.com`.toLowerCase() },
    roles: [pick(ROLES), pick(ROLES)],
    prefs: { theme: r() < 0.5 ? 'dark' : 'light', lang: pick(LANGS), tz: pick(ZONES) },
    cart,
    nav: navValue(i),
  };
}

/** A new value of the updated attribute, the same size as the original, for write number `n`. */
export function navValue(n: number): { lastPage: string; ts: number } {
  return { lastPage: `/orders/${1_000_000 + (n % 9_000_000)}`, ts: 1_700_000_000_000 + n };
}

/** The stored (JSON) form of each attribute of session `i`, in {@link ATTRIBUTE_KEYS} order. */
export function attributeJsonFor(i: number): string[] {
  const a = attributesFor(i);
  return ATTRIBUTE_KEYS.map((k) => JSON.stringify(a[k]));
}

/** Bytes of JSON of session `i`'s attributes, as one object. */
export function jsonBytesFor(i: number): number {
  return Buffer.byteLength(JSON.stringify(attributesFor(i)));
}

/**
 * The session object an express-session store receives for session `i`: the same
 * attributes plus the cookie express-session adds to every session it saves.
 */
export function expressSessionFor(i: number, nav?: unknown): Record<string, unknown> & { cookie: Record<string, unknown> } {
  const a = attributesFor(i);
  return { cookie: { originalMaxAge: null, httpOnly: true, path: '/' }, ...a, ...(nav === undefined ? {} : { nav }) };
}

/** The data set: ids, user ids and a random (seeded) order of indexes for the keys of each run. */
export interface DataSet {
  readonly size: number;
  readonly ids: string[];
  readonly userIds: string[];
  /** A random permutation of 0..size-1: op number k uses session order[k % size]. */
  readonly order: Uint32Array;
  /** Average bytes of JSON of one session's attributes. */
  readonly avgJsonBytes: number;
}

export function makeDataSet(size: number, salt = 'bench'): DataSet {
  const ids: string[] = [];
  const userIds: string[] = [];
  let bytes = 0;
  for (let i = 0; i < size; i++) {
    ids.push(uuidFor(salt, i));
    userIds.push(`user-${i}`);
    bytes += jsonBytesFor(i);
  }
  const order = new Uint32Array(size);
  for (let i = 0; i < size; i++) order[i] = i;
  const r = prng(42);
  for (let i = size - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  return { size, ids, userIds, order, avgJsonBytes: bytes / size };
}
