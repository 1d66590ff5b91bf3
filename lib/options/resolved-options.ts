import type { LoggerService } from '@nestjs/common';
import type { DataSource } from 'typeorm';

/** Cookie settings with every default applied. */
export interface ResolvedCookieOptions {
  readonly name: string;
  readonly secrets: readonly string[];
  readonly secure: boolean;
  readonly httpOnly: boolean;
  readonly sameSite: 'strict' | 'lax' | 'none';
  readonly path: string;
  readonly domain: string | undefined;
}

/** The module's options after validation, with every default applied. Internal. */
export interface ResolvedSessionOptions {
  readonly connectionString: string | undefined;
  readonly dataSource: DataSource | undefined;
  readonly listenConnectionString: string | undefined;
  readonly preparedStatements: 'auto' | boolean;
  readonly schemaName: string;
  readonly tablePrefix: string;
  readonly createSchemaIfMissing: boolean;
  readonly maxSessions: number;
  readonly maxAttributeLength: number;
  readonly sessionExpiration: number;
  readonly inactivityDuration: number;
  readonly cleanupInterval: number;
  readonly cacheSize: number;
  readonly maxSessionLifetimeInCache: number;
  readonly lastAccessUpdateInterval: number;
  readonly lastAccessUpdateBatchSize: number;
  readonly notifyOnUpdates: boolean;
  readonly notifyOnFailedUpdates: boolean;
  readonly reconnectInterval: number;
  readonly cookie: ResolvedCookieOptions;
  readonly logger: LoggerService;
}
