import type pg from 'pg';

/**
 * Calls `observe` with the text of every statement run through `pool`, whichever way it
 * is run (`pool.query`, or a checked-out client as the library does), and the promise of
 * its result: each client is wrapped the first time the pool hands it out.
 */
export function observeStatements(pool: pg.Pool, observe: (text: string, result: Promise<unknown>) => void): void {
  const wrapped = new WeakSet<pg.PoolClient>();
  pool.on('acquire', (client) => {
    if (wrapped.has(client)) return;
    wrapped.add(client);
    const original = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
      const first = args[0] as string | { text: string };
      const result = original(...args);
      observe(typeof first === 'string' ? first : first.text, result as Promise<unknown>);
      return result;
    };
  });
}

/** Records the text of every statement run through `pool` (see {@link observeStatements}). */
export function recordStatements(pool: pg.Pool): () => string[] {
  const seen: string[] = [];
  observeStatements(pool, (text) => seen.push(text));
  return () => seen;
}
