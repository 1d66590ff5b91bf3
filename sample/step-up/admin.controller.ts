import { Controller, Get } from '@nestjs/common';
import { RequireAttribute, Session } from 'nestjs-pg-session';
import type { AppSession } from '../sample-attributes.js';

/** A route only a stepped-up session reaches: 401 without a session, 403 without `elevated_access`. */
@Controller('admin')
export class AdminController {
  @Get('secret')
  @RequireAttribute('elevated_access')
  secret(@Session() session: AppSession): { secret: string; userId: string; elevatedUntil: string | null } {
    return {
      secret: 'The launch code is 0000.',
      userId: session.userId,
      elevatedUntil: session.getAttributeRecord('elevated_access')?.expiresAt?.toISOString() ?? null,
    };
  }
}
