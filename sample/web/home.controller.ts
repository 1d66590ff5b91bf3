import { Controller, Get, Header, Inject } from '@nestjs/common';
import { SessionService, type SessionStats } from 'nestjs-pg-session';
import { SAMPLE_OPTIONS, type ResolvedSampleOptions } from '../sample-options.js';
import { HOME_PAGE } from './home-page.js';

/** The browser page at `/` and `GET /node` (which node answered, and its cache counters). */
@Controller()
export class HomeController {
  constructor(
    private readonly sessions: SessionService,
    @Inject(SAMPLE_OPTIONS) private readonly options: ResolvedSampleOptions,
  ) {}

  @Get()
  @Header('content-type', 'text/html; charset=utf-8')
  @Header('cache-control', 'no-store')
  home(): string {
    return HOME_PAGE;
  }

  @Get('node')
  node(): { node: string; pid: number; stats: SessionStats } {
    return { node: this.options.nodeName, pid: process.pid, stats: this.sessions.stats() };
  }
}
