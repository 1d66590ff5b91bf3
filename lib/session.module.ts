import { Module, type DynamicModule } from '@nestjs/common';
import type { SessionModuleOptions } from './options/session-module-options.interface.js';
import {
  ConfigurableSessionModule,
  type SessionModuleAsyncOptions,
  type SessionModuleOptionsFactory,
  type SessionModuleRootOptions,
} from './session.module-definition.js';
import { sessionExports, sessionProviders } from './session.providers.js';

/**
 * Distributed server-side sessions on PostgreSQL. Register once with
 * `SessionModule.forRoot(options)` or `SessionModule.forRootAsync({ imports, inject, useFactory })`;
 * the module is global unless `isGlobal: false`. Its providers are listed in `session.providers.ts`.
 */
@Module({
  providers: sessionProviders,
  exports: sessionExports,
})
export class SessionModule extends ConfigurableSessionModule {
  /**
   * Registers the module with options known at import time. The options are validated
   * when the application starts: an invalid value or an unknown option name fails start
   * with an error that names the option. Global unless `isGlobal: false`.
   *
   * @example
   * ```ts
   * SessionModule.forRoot({ connectionString: process.env.DATABASE_URL, createSchemaIfMissing: true })
   * ```
   * @see {@link SessionModuleOptions} for every option and its default.
   * @see {@link SessionModule.forRootAsync} when the options come from other providers (config, TypeORM).
   * @see {@link https://github.com/nestjs-pg-session/nestjs-pg-session#options | Options (README)}
   */
  static override forRoot(options: SessionModuleRootOptions): DynamicModule {
    return super.forRoot(options);
  }

  /**
   * Registers the module with options made by a factory (`useFactory` with `inject` and
   * `imports`), or by a class implementing {@link SessionModuleOptionsFactory}
   * (`useClass` / `useExisting`). Validated when the application starts, like
   * {@link SessionModule.forRoot}. Global unless `isGlobal: false`.
   *
   * @example
   * ```ts
   * SessionModule.forRootAsync({
   *   inject: [getDataSourceToken()],
   *   useFactory: (dataSource: DataSource) => ({ dataSource, createSchemaIfMissing: true }),
   * })
   * ```
   * @see {@link SessionModuleAsyncOptions} for the shape of `options`.
   * @see {@link https://github.com/nestjs-pg-session/nestjs-pg-session#async-configuration-and-sharing-a-typeorm-connection | Async configuration (README)}
   */
  static override forRootAsync(options: SessionModuleAsyncOptions): DynamicModule {
    return super.forRootAsync(options);
  }
}
