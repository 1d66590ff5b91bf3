/** Options of `ExpressSessionStore` and `FastifySessionStore`. */
export interface FrameworkStoreOptions {
  /**
   * The user a session belongs to, from its data; `null`/`undefined` for none.
   * Default: Passport's `data.passport?.user` when it is a string or a number, or
   * `data.passport` itself when that is a string or a number (how @fastify/passport
   * keeps it). A Passport app that serializes users to objects passes its own function.
   */
  userIdOf?: (data: Record<string, unknown>) => string | number | null | undefined;
}

/**
 * The group id every session created through a framework store carries: `all`,
 * `length` and `clear` of the stores cover this group, and
 * `sessionService.deleteAllSessionsByGroupId(FRAMEWORK_STORE_GROUP_ID)` is `clear`.
 */
export const FRAMEWORK_STORE_GROUP_ID = 'nestjs-pg-session:framework-store';
