import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { SessionModuleExtras, SessionModuleOptions } from './options/session-module-options.interface.js';

export const {
  ConfigurableModuleClass: ConfigurableSessionModule,
  MODULE_OPTIONS_TOKEN: SESSION_MODULE_OPTIONS,
  OPTIONS_TYPE: SESSION_MODULE_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: SESSION_MODULE_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<SessionModuleOptions>({ moduleName: 'Session' })
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createSessionOptions')
  // `?? true`: an explicit `isGlobal: undefined` (exactOptionalPropertyTypes style) keeps the default.
  .setExtras<SessionModuleExtras>({ isGlobal: true }, (definition, extras) => ({ ...definition, global: extras.isGlobal ?? true }))
  .build();
