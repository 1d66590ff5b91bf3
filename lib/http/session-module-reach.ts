/**
 * What to do when a guard of this library is used in a module that cannot reach
 * `SessionModule`'s services (only possible with `isGlobal: false`). Nest's own
 * message would name an internal class and not the fix.
 */
export function assertSessionModuleReachable(guard: string, ...dependencies: unknown[]): void {
  if (dependencies.every((dependency) => dependency !== undefined && dependency !== null)) return;
  throw new Error(
    `nestjs-pg-session: ${guard} cannot inject SessionService here: the module of this controller cannot see SessionModule. ` +
      'Either SessionModule.forRoot(...) (or forRootAsync) is not imported anywhere: import it once, in AppModule (it is ' +
      'global by default); or it is registered with `isGlobal: false`: then register it once in a shared module that ' +
      're-exports it (`exports: [SessionModule]`), and import that shared module in every module whose controllers use ' +
      '@Session(), SessionGuard or @RequireAttribute() (or leave isGlobal at its default, true).',
  );
}
