import pg from 'pg';

/** Another writer's change of some sessions, held uncommitted on a connection of its own. */
export interface UncommittedChange {
  /** Commits the change. */
  commit(): Promise<void>;
  /** Closes the connection (what was not committed is rolled back). */
  end(): Promise<void>;
}

/**
 * Opens a transaction that, for each session, bumps its version and adds the attribute
 * `theirs` = "t" at `attributeVersion`, and keeps it open: the rows stay locked until
 * `commit()`, so an update of these sessions waits for them (and then sees a newer
 * version than its snapshot's). Call `end()` in a `finally`.
 */
export async function uncommittedChange(url: string, sessionIds: readonly string[], attributeVersion: number): Promise<UncommittedChange> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('BEGIN');
    for (const id of sessionIds) {
      await client.query(`UPDATE sessions SET version = version + 1 WHERE id = $1`, [id]);
      await client.query(`INSERT INTO session_attributes (session_id, key, value, version) VALUES ($1, 'theirs', '"t"', $2)`, [id, attributeVersion]);
    }
  } catch (err) {
    await client.end();
    throw err;
  }
  return {
    commit: async () => {
      await client.query('COMMIT');
    },
    end: () => client.end(),
  };
}
