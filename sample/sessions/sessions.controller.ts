import { Controller, Delete, Get, HttpCode, NotFoundException, Param, Post, Res } from '@nestjs/common';
import { Session, SessionCookieService, SessionService } from 'nestjs-pg-session';

/** One entry of `GET /sessions`. */
export interface SessionListEntry {
  id: string;
  current: boolean;
  createdAt: string;
  lastAccessed: string;
  expiresAt: string;
}

/** "My sessions": list them, revoke one, log out everywhere else. */
@Controller('sessions')
export class SessionsController {
  constructor(
    private readonly sessions: SessionService,
    private readonly cookies: SessionCookieService,
  ) {}

  /** `GET /sessions`: the user's live sessions, most recently used first. */
  @Get()
  async list(@Session() session: Session): Promise<{ sessions: SessionListEntry[] }> {
    const list = await this.sessions.listUserSessions(session.userId);
    return {
      sessions: list.map((info) => ({
        id: info.id,
        current: info.id === session.id,
        createdAt: info.createdAt.toISOString(),
        lastAccessed: info.lastAccessed.toISOString(),
        expiresAt: info.expiresAt.toISOString(),
      })),
    };
  }

  /** `DELETE /sessions/:id`: revokes one of the user's sessions (404 for anyone else's). */
  @Delete(':id')
  async revoke(@Session() session: Session, @Param('id') id: string, @Res({ passthrough: true }) response: unknown): Promise<{ revoked: string }> {
    const target = (await this.sessions.listUserSessions(session.userId)).find((info) => info.id === id.toLowerCase());
    if (target === undefined) throw new NotFoundException('No such session.');
    await this.sessions.deleteSession(target.id);
    if (target.id === session.id) this.cookies.clear(response);
    return { revoked: target.id };
  }

  /** `POST /sessions/revoke-others`: deletes every session of the user but this one. */
  @Post('revoke-others')
  @HttpCode(200)
  async revokeOthers(@Session() session: Session): Promise<{ revoked: number }> {
    const others = (await this.sessions.listUserSessions(session.userId)).filter((info) => info.id !== session.id);
    for (const info of others) await this.sessions.deleteSession(info.id);
    return { revoked: others.length };
  }
}
