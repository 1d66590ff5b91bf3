import assert from 'node:assert/strict';

/** Resources that keep a process alive, minus the process's own stdio. */
function openHandles(): string[] {
  return process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap' && r !== 'PipeWrap');
}

/**
 * Asserts that nothing keeps the process alive: no timer, socket or server left
 * behind. Call last in a test file, after every node was closed. Sockets that were
 * just ended get a moment to finish closing.
 */
export async function assertNoOpenHandles(): Promise<void> {
  const deadline = Date.now() + 2000;
  while (openHandles().length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.deepEqual(openHandles(), [], 'resources left open after every node was closed');
}
