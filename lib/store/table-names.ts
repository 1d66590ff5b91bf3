const SCHEMA_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;
const PREFIX_PATTERN = /^[A-Za-z0-9_]*$/;
/** PostgreSQL truncates identifiers past 63 bytes; the longest name we derive must fit. */
const MAX_IDENTIFIER_BYTES = 63;
const LONGEST_SUFFIX = 'session_attributes_expires_at_idx';

/** True when `name` is an acceptable `schemaName`. */
export function isValidSchemaName(name: unknown): name is string {
  return typeof name === 'string' && SCHEMA_PATTERN.test(name) && name.length <= MAX_IDENTIFIER_BYTES;
}

/** True when `prefix` is an acceptable `tablePrefix`. */
export function isValidTablePrefix(prefix: unknown): prefix is string {
  return (
    typeof prefix === 'string' &&
    PREFIX_PATTERN.test(prefix) &&
    prefix.length + LONGEST_SUFFIX.length <= MAX_IDENTIFIER_BYTES
  );
}

/** Double-quotes an identifier that was already validated against the patterns above. */
function quote(identifier: string): string {
  return `"${identifier}"`;
}

/**
 * The one source of truth for every table, index, channel and lock key name of a
 * deployment (schema + prefix). Built only from validated identifiers.
 */
export class TableNames {
  /** `"schema"` */
  readonly schema: string;
  /** `"schema"."<prefix>sessions"` */
  readonly sessions: string;
  /** `"schema"."<prefix>session_attributes"` */
  readonly attributes: string;
  /** `"schema"."<prefix>session_locks"` */
  readonly locks: string;
  /** `"schema"."<prefix>session_lock_tokens"` (sequence of fencing tokens) */
  readonly lockTokens: string;
  /** `"schema"."<prefix>session_cache_epoch"`: counts cache-only operations, for resyncs. */
  readonly cacheEpoch: string;
  /**
   * The text given to `to_regclass` to check that a table exists: the same quoted
   * `"schema"."<prefix>sessions"` as `sessions` (to_regclass parses it like an identifier
   * in SQL, so the quotes keep mixed case and odd characters intact).
   */
  readonly sessionsRegclass: string;
  /** Quoted `"schema"."<prefix>session_attributes"`, for `to_regclass`. */
  readonly attributesRegclass: string;
  /** Quoted `"schema"."<prefix>session_locks"`, for `to_regclass`. */
  readonly locksRegclass: string;
  /** NOTIFY channel of this deployment. */
  readonly channel: string;
  /** Stable text that identifies the deployment inside a database (advisory-lock keys). */
  readonly deploymentKey: string;

  constructor(
    readonly schemaName: string,
    readonly tablePrefix: string,
  ) {
    if (!isValidSchemaName(schemaName)) throw new Error(`Invalid schemaName ${JSON.stringify(schemaName)}`);
    if (!isValidTablePrefix(tablePrefix)) throw new Error(`Invalid tablePrefix ${JSON.stringify(tablePrefix)}`);
    this.schema = quote(schemaName);
    this.sessions = `${this.schema}.${quote(`${tablePrefix}sessions`)}`;
    this.attributes = `${this.schema}.${quote(`${tablePrefix}session_attributes`)}`;
    this.locks = `${this.schema}.${quote(`${tablePrefix}session_locks`)}`;
    this.lockTokens = `${this.schema}.${quote(`${tablePrefix}session_lock_tokens`)}`;
    this.cacheEpoch = `${this.schema}.${quote(`${tablePrefix}session_cache_epoch`)}`;
    this.sessionsRegclass = `${this.schema}.${quote(`${tablePrefix}sessions`)}`;
    this.attributesRegclass = this.attributes;
    this.locksRegclass = this.locks;
    // Channel names are identifiers too (max 63 bytes); a short hash keeps any schema + prefix under it.
    this.deploymentKey = `${schemaName}.${tablePrefix}`;
    this.channel = `pg_session_${fnv1a(this.deploymentKey)}`;
  }

  /** Quoted name of an index of this deployment, e.g. `index('sessions_user_id_idx')`. */
  index(suffix: string): string {
    return quote(`${this.tablePrefix}${suffix}`);
  }

  /** Human description used in error messages. */
  describe(): string {
    return `schema "${this.schemaName}", tablePrefix "${this.tablePrefix}"`;
  }
}

/** 32-bit FNV-1a, hex: a stable short name for a deployment. */
function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, '0');
}
