import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckService, type HealthCheckResult } from '@nestjs/terminus';
import { SessionHealthIndicator } from 'nestjs-pg-session/terminus';

/** `GET /health`: 200 while this node's sessions are healthy, 503 with the reason otherwise. */
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly sessions: SessionHealthIndicator,
  ) {}

  @Get()
  @HealthCheck()
  check(): Promise<HealthCheckResult> {
    return this.health.check([() => this.sessions.isHealthy('sessions', { timeout: 1000 })]);
  }
}
