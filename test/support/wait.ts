/** Polls `condition` until it holds, failing after `timeoutMs`. */
export async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Waits until the wall clock is past `instant` (for expiry tests: the instant is the condition). */
export async function waitUntilPast(instant: Date | number): Promise<void> {
  const at = typeof instant === 'number' ? instant : instant.getTime();
  await waitFor(() => Date.now() > at + 1, `the clock to pass ${new Date(at).toISOString()}`, at - Date.now() + 5000);
}
