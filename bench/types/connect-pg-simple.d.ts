// connect-pg-simple ships no typings: the subset the bench uses.
declare module 'connect-pg-simple' {
  import type { Store } from 'express-session';
  import type { Pool } from 'pg';
  interface PGStoreOptions {
    pool?: Pool;
    tableName?: string;
    schemaName?: string;
    createTableIfMissing?: boolean;
    pruneSessionInterval?: false | number;
    ttl?: number;
    disableTouch?: boolean;
    errorLog?: (...args: unknown[]) => void;
  }
  class PGStore extends Store {
    constructor(options?: PGStoreOptions);
    close(): Promise<void>;
  }
  function connectPgSimple(session: unknown): typeof PGStore;
  export = connectPgSimple;
}
