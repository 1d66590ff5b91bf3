/**
 * A session id as log lines show it: its first 8 characters, enough to correlate
 * lines and find the row, not enough to act as the session's credential.
 */
export function logId(id: string): string {
  return `${id.slice(0, 8)}…`;
}
