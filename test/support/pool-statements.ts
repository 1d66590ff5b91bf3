import type pg from 'pg';
import type { DataSource } from 'typeorm';
import type { SessionNotifications, SessionService } from '../../lib/index.js';

/** Statements (pool checkouts: one per statement or transaction) a piece of work caused. */
export interface StatementCount {
  readonly statements: number;
  /** Where each checkout came from, for the failure message. */
  readonly stacks: string[];
  /**
   * True when the node's LISTEN connection was down or reconnected meanwhile: the node
   * then reads from the database by design (a loaded machine can miss a heartbeat),
   * so the count says nothing about the code under test.
   */
  readonly disturbed: boolean;
}

/** Counts the checkouts of the real node-postgres pool under `dataSource` while `work` runs. */
export async function countStatements(
  dataSource: DataSource,
  node: { sessions: SessionService; notifications: SessionNotifications },
  work: () => Promise<void>,
): Promise<StatementCount> {
  const pool = (dataSource.driver as unknown as { master: pg.Pool }).master;
  const stacks: string[] = [];
  const count = () => void stacks.push(new Error('pool checkout').stack ?? '');
  let disturbed = !node.sessions.stats().listening;
  const subscription = node.notifications.status$.subscribe(() => (disturbed = true));
  pool.on('acquire', count);
  try {
    await work();
  } finally {
    pool.off('acquire', count);
    subscription.unsubscribe();
  }
  return { statements: stacks.length, stacks, disturbed: disturbed || !node.sessions.stats().listening };
}

/** {@link countStatements}, run again (up to `attempts` times) while the LISTEN connection was disturbed. */
export async function countUndisturbed(
  dataSource: DataSource,
  node: { sessions: SessionService; notifications: SessionNotifications },
  work: () => Promise<void>,
  attempts = 3,
): Promise<StatementCount> {
  let result: StatementCount | undefined;
  for (let i = 0; i < attempts; i++) {
    result = await countStatements(dataSource, node, work);
    if (!result.disturbed) return result;
  }
  throw new Error(`the LISTEN connection was down or reconnected during each of ${attempts} attempts: no count to judge`);
}
