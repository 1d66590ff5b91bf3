import type { Session } from 'nestjs-pg-session';

/**
 * The attributes this app keeps in a session. With `Session<SampleAttributes>`,
 * `getAttribute('cart')` is typed `string[] | undefined`, and `SessionService`
 * keeps the type through `updateSession` and `regenerateSession`.
 */
export interface SampleAttributes {
  /** Item ids in the cart, in the order they were added. */
  cart: string[];
  /** Set by a step-up (password re-entered); expires after the step-up duration. */
  elevated_access: true;
}

/** A session of this app. */
export type AppSession = Session<SampleAttributes>;
