import { BadRequestException, Injectable } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { SessionConflictError, SessionService } from 'nestjs-pg-session';
import type { AppSession } from '../sample-attributes.js';

/** Attempts before a contended add gives up with 409 (each conflict means another add won). */
const MAX_ATTEMPTS = 40;
/** Items a cart may hold. */
export const MAX_CART_ITEMS = 200;

/**
 * The cart lives in the session attribute `cart`. Adds use optimistic locking on
 * that attribute: a concurrent add that saved first makes ours fail with
 * `SessionConflictError` without writing, and we re-read and try again, so
 * concurrent adds never lose an item.
 */
@Injectable()
export class CartService {
  constructor(private readonly sessions: SessionService) {}

  /** The items in the session's cart. */
  items(session: AppSession): string[] {
    return session.getAttribute('cart') ?? [];
  }

  /**
   * Appends `itemId` and returns the cart as saved.
   * @throws SessionConflictError after {@link MAX_ATTEMPTS} lost races (the app answers 409).
   */
  async add(session: AppSession, itemId: string): Promise<string[]> {
    let current = session;
    for (let attempt = 1; ; attempt++) {
      const items = this.items(current);
      if (items.length >= MAX_CART_ITEMS) throw new BadRequestException(`A cart holds at most ${MAX_CART_ITEMS} items.`);
      current.setAttribute('cart', [...items, itemId]);
      try {
        const saved: AppSession = await this.sessions.updateSession(current, { checkAttributeVersion: true });
        return this.items(saved);
      } catch (error) {
        if (!(error instanceof SessionConflictError) || attempt >= MAX_ATTEMPTS) throw error;
      }
      // Someone else saved the cart first: back off a little (jittered, so the
      // losers do not collide again in lock-step), then re-read the stored cart.
      await sleep(Math.random() * Math.min(2 * attempt, 20));
      current = await this.sessions.getSession(session.id, { forceRefresh: true });
    }
  }
}
