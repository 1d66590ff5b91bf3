import { Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { DEFAULT_HEALTH_TIMEOUT_MS, SessionHealth } from './session-health.service.js';

/** Options of {@link SessionHealthIndicator.isHealthy}. */
export interface SessionHealthCheckOptions {
  /** Time the database has to answer a trivial query. @default 1000 ms */
  timeout?: number;
}

/**
 * `@nestjs/terminus` indicator for nestjs-pg-session: up when the database answers a
 * trivial query within the timeout and this node's LISTEN connection is listening;
 * down otherwise, with the reason in its details (database error, listener
 * reconnecting since when, resync running). Add it to the providers of the module
 * that holds your health controller (with `TerminusModule` imported).
 */
@Injectable()
export class SessionHealthIndicator {
  constructor(
    private readonly indicators: HealthIndicatorService,
    private readonly health: SessionHealth,
  ) {}

  /** Checks the sessions' health under `key` (e.g. `'sessions'`). */
  async isHealthy<const Key extends string>(key: Key, options: SessionHealthCheckOptions = {}): Promise<HealthIndicatorResult<Key>> {
    const indicator = this.indicators.check(key);
    const { healthy, ...details } = await this.health.check(options.timeout ?? DEFAULT_HEALTH_TIMEOUT_MS);
    return healthy ? indicator.up(details) : indicator.down(details);
  }
}
