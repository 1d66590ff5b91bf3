import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import { SessionModule } from 'nestjs-pg-session';
import { SessionHealthIndicator } from 'nestjs-pg-session/terminus';
import { AuthController } from './auth/auth.controller.js';
import { CartController } from './cart/cart.controller.js';
import { CartService } from './cart/cart.service.js';
import { HealthController } from './health/health.controller.js';
import { SessionErrorsFilter } from './common/session-errors.filter.js';
import { SAMPLE_OPTIONS, resolveSampleOptions, type SampleAppOptions } from './sample-options.js';
import { SessionsController } from './sessions/sessions.controller.js';
import { AdminController } from './step-up/admin.controller.js';
import { StepUpController } from './step-up/step-up.controller.js';
import { DemoUsersService } from './users/demo-users.service.js';
import { HomeController } from './web/home.controller.js';

/** The sample application: session module, demo users, and the routes of docs/sample-app.md. */
@Module({})
export class AppModule {
  static forRoot(options: SampleAppOptions): DynamicModule {
    const resolved = resolveSampleOptions(options);
    return {
      module: AppModule,
      imports: [
        SessionModule.forRoot({
          connectionString: options.databaseUrl,
          createSchemaIfMissing: true,
          cookie: { secrets: [...resolved.secrets], secure: resolved.cookieSecure },
        }),
        // Failed checks are logged unless the sample runs silent (the tests).
        TerminusModule.forRoot({ logger: options.logger !== false }),
      ],
      controllers: [HealthController, HomeController, AuthController, CartController, StepUpController, AdminController, SessionsController],
      providers: [
        { provide: SAMPLE_OPTIONS, useValue: resolved },
        { provide: APP_FILTER, useClass: SessionErrorsFilter },
        SessionHealthIndicator,
        DemoUsersService,
        CartService,
      ],
    };
  }
}
