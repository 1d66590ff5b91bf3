/**
 * `nestjs-pg-session/terminus`: the health indicator for `@nestjs/terminus` (an
 * optional peer, loaded only by this entry point, never by the package root).
 */
export { SessionHealthIndicator, type SessionHealthCheckOptions } from './health/session-health.indicator.js';
export type { SessionHealthReport } from './health/session-health.service.js';
