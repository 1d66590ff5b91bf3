/**
 * Injection tokens used only inside SessionModule; none is exported from the package.
 * The public token, `SESSION_MODULE_OPTIONS`, comes from `session.module-definition.ts`.
 */

/** Injection token of the validated, defaulted options. */
export const RESOLVED_SESSION_OPTIONS = Symbol('nestjs-pg-session:resolved-options');
/** Injection token of the database access object. */
export const SESSION_DATABASE = Symbol('nestjs-pg-session:database');
