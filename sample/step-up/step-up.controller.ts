import { Body, Controller, ForbiddenException, HttpCode, Inject, Post, Res } from '@nestjs/common';
import { Session, SessionCookieService, SessionService } from 'nestjs-pg-session';
import { stringField } from '../common/body.js';
import type { AppSession } from '../sample-attributes.js';
import { SAMPLE_OPTIONS, type ResolvedSampleOptions } from '../sample-options.js';
import { DemoUsersService } from '../users/demo-users.service.js';

/**
 * `POST /step-up {password}`: after the password is entered again, grants the
 * `elevated_access` attribute for a limited time (15 minutes by default) and moves
 * the session to a new id (session-fixation defence: a privilege change gets a
 * fresh id; the old one stops working at once).
 */
@Controller('step-up')
export class StepUpController {
  constructor(
    private readonly users: DemoUsersService,
    private readonly sessions: SessionService,
    private readonly cookies: SessionCookieService,
    @Inject(SAMPLE_OPTIONS) private readonly options: ResolvedSampleOptions,
  ) {}

  @Post()
  @HttpCode(200)
  async stepUp(
    @Session() session: AppSession,
    @Body() body: unknown,
    @Res({ passthrough: true }) response: unknown,
  ): Promise<{ sessionId: string; elevatedUntil: string }> {
    const password = stringField(body, 'password', 200);
    // 403, not 401: the session is fine, only the step-up was refused.
    if (!(await this.users.verifyPassword(session.userId, password))) throw new ForbiddenException('Wrong password.');
    const elevatedUntil = new Date(Date.now() + this.options.stepUpDuration);
    session.setAttribute('elevated_access', true, { expiresAt: elevatedUntil });
    // Saves the new attribute and changes the id in one transaction.
    const regenerated = await this.sessions.regenerateSession(session);
    this.cookies.set(response, regenerated);
    return { sessionId: regenerated.id, elevatedUntil: elevatedUntil.toISOString() };
  }
}
