import type pg from 'pg';

/**
 * Records the text of every statement run through `pool`, whichever way it is run
 * (`pool.query`, or a checked-out client as the library does): each client is wrapped
 * the first time the pool hands it out.
 */
export function recordStatements(pool: pg.Pool): () => string[] {
  const seen: string[] = [];
  const wrapped = new WeakSet<pg.PoolClient>();
  pool.on('acquire', (client) => {
    if (wrapped.has(client)) return;
    wrapped.add(client);
    const original = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
      const first = args[0] as string | { text: string };
      seen.push(typeof first === 'string' ? first : first.text);
      return original(...args);
    };
  });
  return () => seen;
}
