import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { SessionModuleExtras, SessionModuleOptions } from './options/session-module-options.interface.js';

/**
 * A class given to `SessionModule.forRootAsync({ useClass })` (or `useExisting`): Nest
 * instantiates it with its own dependencies and calls `createSessionOptions()`.
 */
export interface SessionModuleOptionsFactory {
  createSessionOptions(): SessionModuleOptions | Promise<SessionModuleOptions>;
}

export const {
  ConfigurableModuleClass: ConfigurableSessionModule,
  MODULE_OPTIONS_TOKEN,
  OPTIONS_TYPE: SESSION_MODULE_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: SESSION_MODULE_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<SessionModuleOptions>({ moduleName: 'Session' })
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createSessionOptions')
  // `?? true`: an explicit `isGlobal: undefined` (exactOptionalPropertyTypes style) keeps the default.
  .setExtras<SessionModuleExtras>({ isGlobal: true }, (definition, extras) => ({ ...definition, global: extras.isGlobal ?? true }))
  .build();

/**
 * Injection token of the options as given to `forRoot` (or returned by `forRootAsync`'s
 * factory), before validation and defaults: inject it to read them back.
 */
export const SESSION_MODULE_OPTIONS: string | symbol = MODULE_OPTIONS_TOKEN;

/**
 * Options of `SessionModule.forRoot`: the module options plus `isGlobal`.
 */
export type SessionModuleRootOptions = typeof SESSION_MODULE_OPTIONS_TYPE;

/**
 * Options of `SessionModule.forRootAsync`: `imports`, `inject` and one of `useFactory`,
 * `useClass` or `useExisting` (a {@link SessionModuleOptionsFactory}), plus `isGlobal`.
 */
export type SessionModuleAsyncOptions = typeof SESSION_MODULE_ASYNC_OPTIONS_TYPE;
