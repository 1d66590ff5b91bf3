export { SessionModule } from './session.module.js';
export {
  SESSION_MODULE_OPTIONS,
  type SessionModuleAsyncOptions,
  type SessionModuleOptionsFactory,
  type SessionModuleRootOptions,
} from './session.module-definition.js';
export type { SessionModuleOptions, SessionCookieOptions, SessionModuleExtras } from './options/session-module-options.interface.js';
export { SessionService } from './session/session.service.js';
export type { AttributeRecord, AttributeInput, InitialAttributes } from './session/session.interface.js';
export type {
  CreateSessionOptions,
  GetSessionOptions,
  UpdateSessionOptions,
  SessionInfo,
  SessionStats,
} from './session/session-options.interface.js';
export { SessionNotifications } from './sync/session-notifications.service.js';
export { SessionHealth, type SessionHealthReport } from './health/session-health.service.js';
export type { SessionChange, SyncStatus } from './sync/session-change.js';
export { LockService } from './lock/lock.service.js';
export type { DistributedLock } from './lock/distributed-lock.interface.js';
export type { LockOptions } from './lock/lock-options.interface.js';
export * from './errors/index.js';
export {
  createSessionSchemaMigration,
  SessionTables1732240000000,
  sessionSchemaMigrationName,
  type SessionSchemaMigrationOptions,
} from './store/session-schema.migration.js';
export { Session, type SessionDecoratorOptions } from './http/session.decorator.js';
export { SessionCookieService } from './http/session-cookie.service.js';
export { HmacSigner } from './http/hmac-signer.js';
export { SessionGuard } from './http/session.guard.js';
export { RequireAttribute, type RequireAttributeOptions } from './http/require-attribute.decorator.js';
export { RequireAttributeGuard } from './http/require-attribute.guard.js';
export type { AttributeRequirement } from './http/attribute-requirement.js';
export {
  createSessionEntities,
  SessionRecordEntity,
  SessionAttributeRecordEntity,
  SessionEntities,
  type SessionRecord,
  type SessionAttributeRecord,
  type SessionEntitiesOptions,
  type SessionEntityClasses,
  type SessionUserRelationOptions,
} from './store/session.entities.js';
