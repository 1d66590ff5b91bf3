// `isGlobal: false`: the documented way (a shared module that registers SessionModule
// once and re-exports it) works in feature modules, and the two ways to get it wrong
// fail at start with an error that says what to do.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import 'reflect-metadata';
import { Controller, Get, Injectable, Module, type Type } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { RequireAttribute, Session, SessionGuard, SessionModule, SessionService } from '../../lib/index.js';
import { useTestDatabase } from '../support/database.js';
import { listen } from '../support/http-apps.js';
import { RecordingLogger } from '../support/nodes.js';

@Controller()
class MeController {
  @Get('me')
  me(@Session() session: Session) {
    return { userId: session.userId };
  }
}

@Controller()
class GuardedController {
  @Get('guarded')
  @RequireAttribute('role')
  guarded() {
    return 'ok';
  }
}

@Injectable()
class FeatureService {
  constructor(readonly sessions: SessionService) {}
}

/**
 * Starts `feature` next to a non-global SessionModule and returns the start error. That
 * SessionModule's options never arrive, so it opens no connection a failed start (which
 * Nest does not clean up) would leave behind; the feature module fails on its own.
 */
async function startFails(feature: Type): Promise<Error> {
  const unconfigured = SessionModule.forRootAsync({ isGlobal: false, useFactory: () => new Promise<never>(() => {}) });
  const result = await Test.createTestingModule({ imports: [unconfigured, feature] }).compile().then(
    async (app) => {
      await app.close();
      return null;
    },
    (err: unknown) => err,
  );
  assert.ok(result instanceof Error, 'start should fail');
  return result;
}

describe('SessionModule with isGlobal: false', () => {
  const db = useTestDatabase();
  const sessionModule = (extras: { isGlobal?: boolean | undefined }) =>
    SessionModule.forRoot({ connectionString: db.url, createSchemaIfMissing: true, logger: new RecordingLogger(), ...extras });

  it('works in feature modules that import a shared module re-exporting it', async () => {
    @Module({ imports: [sessionModule({ isGlobal: false })], exports: [SessionModule] })
    class SessionsModule {}

    @Module({ imports: [SessionsModule], controllers: [MeController, GuardedController], providers: [FeatureService] })
    class FeatureModule {}

    @Module({ imports: [SessionsModule], providers: [{ provide: 'other', inject: [SessionGuard], useFactory: (g: SessionGuard) => g }] })
    class OtherFeatureModule {}

    const moduleRef = await Test.createTestingModule({ imports: [FeatureModule, OtherFeatureModule] }).compile();
    const app = await listen(moduleRef.createNestApplication({ logger: false }));
    try {
      const sessions = app.app.get(FeatureService).sessions;
      const session = await sessions.createSession('user-1', { role: { value: 'admin' } });
      const cookie = `session_id=${session.id}`;
      const me = await fetch(`${app.url}/me`, { headers: { cookie } });
      assert.equal(me.status, 200);
      assert.deepEqual(await me.json(), { userId: 'user-1' });
      assert.equal((await fetch(`${app.url}/me`)).status, 401);
      assert.equal((await fetch(`${app.url}/guarded`, { headers: { cookie } })).status, 200);
    } finally {
      await app.close();
    }
  });

  it('a feature module that imports SessionModule bare fails start saying to import the shared module', async () => {
    @Module({ imports: [SessionModule], providers: [FeatureService] })
    class FeatureModule {}

    const err = await startFails(FeatureModule);
    assert.match(err.message, /SessionModule was imported without forRoot/);
    assert.match(err.message, /exports: \[SessionModule\]/);
  });

  it('a controller using @Session() or the guards in a module that cannot see SessionModule fails start naming the fix', async () => {
    for (const controller of [MeController, GuardedController]) {
      @Module({ controllers: [controller] })
      class FeatureModule {}

      const err = await startFails(FeatureModule);
      assert.match(err.message, /cannot see SessionModule/, `${controller.name}: ${err.message}`);
      assert.match(err.message, /re-exports it \(`exports: \[SessionModule\]`\)/);
    }
  });

  it('a controller using the guards in an app that never registered SessionModule fails start saying to import forRoot', async () => {
    @Module({ controllers: [GuardedController] })
    class FeatureModule {}

    const err = await Test.createTestingModule({ imports: [FeatureModule] }).compile().then(
      async (app) => {
        await app.close();
        return null;
      },
      (e: unknown) => e,
    );
    assert.ok(err instanceof Error, 'start should fail');
    assert.match(err.message, /SessionModule\.forRoot\(\.\.\.\) \(or forRootAsync\) is not imported anywhere/);
  });

  it('isGlobal: undefined keeps the default (global)', async () => {
    @Module({ providers: [FeatureService] })
    class FeatureModule {}

    const moduleRef = await Test.createTestingModule({ imports: [sessionModule({ isGlobal: undefined }), FeatureModule] }).compile();
    try {
      assert.ok(moduleRef.get(FeatureService).sessions instanceof SessionService);
    } finally {
      await moduleRef.close();
    }
  });
});
