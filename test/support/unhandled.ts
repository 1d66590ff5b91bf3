/**
 * Collects the unhandled rejections raised while `fn` runs and for `turns` event-loop
 * turns after it (a rejection nobody handles is reported a turn or two later; it crashes
 * a Node process by default, and node:test would report it against another test).
 */
export async function unhandledDuring(fn: () => Promise<void>, turns = 3): Promise<unknown[]> {
  const seen: unknown[] = [];
  const listener = (reason: unknown) => seen.push(reason);
  process.on('unhandledRejection', listener);
  try {
    await fn();
    for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
  } finally {
    process.off('unhandledRejection', listener);
  }
  return seen;
}
