import { Module } from '@nestjs/common';
import { ConfigurableSessionModule } from './session.module-definition.js';
import { sessionExports, sessionProviders } from './session.providers.js';

/**
 * Distributed server-side sessions on PostgreSQL. Register once with
 * `SessionModule.forRoot(options)` or `SessionModule.forRootAsync({ imports, inject, useFactory })`;
 * the module is global unless `isGlobal: false`.
 */
@Module({
  providers: sessionProviders,
  exports: sessionExports,
})
export class SessionModule extends ConfigurableSessionModule {}
