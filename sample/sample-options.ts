import type { LoggerService } from '@nestjs/common';

/** Options of {@link createSampleApp}. */
export interface SampleAppOptions {
  /** `postgres://…` URL of the database; the session tables are created when missing. */
  databaseUrl: string;
  /**
   * `Secure` flag of the session cookie. The library defaults to `true`; the
   * sample is served over plain HTTP on localhost, where not every browser (nor
   * every HTTP client) keeps a `Secure` cookie, so it defaults to `false` here.
   * Set it to `true` (env `COOKIE_SECURE=true`) behind HTTPS.
   * @default false
   */
  cookieSecure?: boolean;
  /** HMAC secrets of the session cookie, the signing one first. @default a fixed demo secret */
  secrets?: string[];
  /** How long a step-up (`elevated_access`) lasts, in ms. @default 15 minutes */
  stepUpDuration?: number;
  /** Name shown by `GET /node`, to tell cluster nodes apart. @default `node-<pid>` */
  nodeName?: string;
  /** Nest logger; `false` silences it. @default Nest's console logger */
  logger?: LoggerService | false;
}

/** The options with defaults applied, injectable with `@Inject(SAMPLE_OPTIONS)`. */
export interface ResolvedSampleOptions {
  readonly cookieSecure: boolean;
  readonly secrets: readonly string[];
  readonly stepUpDuration: number;
  readonly nodeName: string;
}

/** Injection token of {@link ResolvedSampleOptions}. */
export const SAMPLE_OPTIONS = Symbol('sample:options');

/** A fixed secret so that the nodes of `npm run sample:cluster` agree. Never use it outside the demo. */
export const DEMO_SECRET = 'demo-only-secret-do-not-use-in-production-0123456789';

/** Step-up lifetime when none is configured. */
export const DEFAULT_STEP_UP_DURATION = 15 * 60 * 1000;

/** Applies the defaults. */
export function resolveSampleOptions(options: SampleAppOptions): ResolvedSampleOptions {
  return Object.freeze({
    cookieSecure: options.cookieSecure ?? false,
    secrets: Object.freeze([...(options.secrets ?? [DEMO_SECRET])]),
    stepUpDuration: options.stepUpDuration ?? DEFAULT_STEP_UP_DURATION,
    nodeName: options.nodeName ?? `node-${process.pid}`,
  });
}
