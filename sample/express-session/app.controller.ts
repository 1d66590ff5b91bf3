import { Body, Controller, Delete, ForbiddenException, Get, HttpCode, NotFoundException, Param, Post, Req, UnauthorizedException, UseGuards } from '@nestjs/common';
import type { Request } from 'express';
import { SessionService } from 'nestjs-pg-session';
import { frameworkRowId } from 'nestjs-pg-session/express-session';
import type { DemoUser } from '../users/demo-users.service.js';
import { LoginGuard } from './auth.js';

type SessionRequest = Request & { user?: DemoUser; session: Request['session'] & { cart?: string[] } };

function userOf(req: SessionRequest): DemoUser {
  if (!req.user) throw new UnauthorizedException();
  return req.user;
}

/**
 * An ordinary express-session + Passport app: nothing here knows about the store,
 * except the session list, which uses SessionService for "log out everywhere".
 */
@Controller()
export class AppController {
  constructor(private readonly sessions: SessionService) {}

  @Get()
  home() {
    return { app: 'express-session + Passport on nestjs-pg-session', routes: ['POST /login', 'GET /me', 'GET /cart', 'POST /cart/items', 'GET /sessions', 'DELETE /sessions/:id', 'POST /sessions/revoke-all', 'POST /logout'] };
  }

  @Post('login')
  @HttpCode(200)
  @UseGuards(LoginGuard)
  login(@Req() req: SessionRequest) {
    return { userId: userOf(req).id, username: userOf(req).username };
  }

  @Get('me')
  me(@Req() req: SessionRequest) {
    const user = userOf(req);
    // The session's row id: what listUserSessions lists and an admin revokes.
    return { userId: user.id, username: user.username, sessionId: frameworkRowId(req.sessionID) };
  }

  @Get('cart')
  cart(@Req() req: SessionRequest) {
    return { items: req.session.cart ?? [] };
  }

  @Post('cart/items')
  addItem(@Req() req: SessionRequest, @Body() body: { itemId?: unknown }) {
    if (typeof body?.itemId !== 'string' || body.itemId.length === 0) throw new ForbiddenException('itemId must be a non-empty string.');
    req.session.cart = [...(req.session.cart ?? []), body.itemId];
    return { items: req.session.cart };
  }

  @Get('sessions')
  list(@Req() req: SessionRequest) {
    return this.sessions.listUserSessions(userOf(req).id);
  }

  @Delete('sessions/:id')
  async revoke(@Req() req: SessionRequest, @Param('id') id: string) {
    const mine = await this.sessions.listUserSessions(userOf(req).id);
    if (!mine.some((s) => s.id === id)) throw new NotFoundException();
    await this.sessions.deleteSession(id);
    return { revoked: id };
  }

  @Post('sessions/revoke-all')
  @HttpCode(200)
  async revokeAll(@Req() req: SessionRequest) {
    await this.sessions.deleteAllUserSessions(userOf(req).id);
    return { revoked: 'all' };
  }

  @Post('logout')
  @HttpCode(200)
  logout(@Req() req: SessionRequest) {
    return new Promise((resolve, reject) => req.logout((err) => (err ? reject(err) : resolve({ ok: true }))));
  }
}
