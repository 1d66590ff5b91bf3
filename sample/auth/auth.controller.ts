import { Body, Controller, Get, HttpCode, Post, Res, UnauthorizedException } from '@nestjs/common';
import { Session, SessionCookieService, SessionService } from 'nestjs-pg-session';
import { stringField } from '../common/body.js';
import { DemoUsersService } from '../users/demo-users.service.js';

/** Login, logout and "who am I". */
@Controller()
export class AuthController {
  constructor(
    private readonly users: DemoUsersService,
    private readonly sessions: SessionService,
    private readonly cookies: SessionCookieService,
  ) {}

  /**
   * `POST /login {username, password}`: creates a session and sets the cookie.
   * A session the browser still carries is deleted first, so a login always
   * starts from a fresh id.
   */
  @Post('login')
  @HttpCode(200)
  async login(
    @Body() body: unknown,
    @Session({ optional: true }) previous: Session | undefined,
    @Res({ passthrough: true }) response: unknown,
  ): Promise<{ userId: string; username: string; sessionId: string }> {
    const username = stringField(body, 'username', 100);
    const password = stringField(body, 'password', 200);
    const user = await this.users.authenticate(username, password);
    if (user === null) throw new UnauthorizedException('Unknown user name or wrong password.');
    if (previous !== undefined) await this.sessions.deleteSession(previous.id);
    const session = await this.sessions.createSession(user.id);
    this.cookies.set(response, session);
    return { userId: user.id, username: user.username, sessionId: session.id };
  }

  /** `POST /logout`: deletes the session (on every node) and clears the cookie. */
  @Post('logout')
  @HttpCode(200)
  async logout(@Session({ optional: true }) session: Session | undefined, @Res({ passthrough: true }) response: unknown): Promise<{ loggedOut: boolean }> {
    if (session !== undefined) await this.sessions.deleteSession(session.id);
    this.cookies.clear(response);
    return { loggedOut: session !== undefined };
  }

  /** `GET /me`: the session's user; 401 without a session. */
  @Get('me')
  me(@Session() session: Session): { userId: string; username: string; sessionId: string } {
    return { userId: session.userId, username: this.users.findById(session.userId)?.username ?? session.userId, sessionId: session.id };
  }
}
