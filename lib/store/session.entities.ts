import { Column, Entity, Index, JoinColumn, ManyToOne, OneToMany, PrimaryColumn, type RelationOptions } from 'typeorm';
import { isValidSchemaName, isValidTablePrefix } from './table-names.js';

/**
 * One row of `<prefix>sessions`, as the TypeORM entities of {@link createSessionEntities} map it.
 *
 * READ-ONLY: read it through a repository as you like, but write sessions only through
 * `SessionService`. A write through a repository skips the cache invalidation every node
 * relies on (other nodes keep serving their cached copy) and the version checks that make
 * concurrent updates safe.
 */
export interface SessionRecord<TUser = unknown> {
  /** Session id (uuid). */
  id: string;
  userId: string;
  groupId: string | null;
  lastAccessed: Date;
  expiresAt: Date;
  updatedAt: Date;
  createdAt: Date;
  /** Optimistic-locking version, bumped by every write. */
  version: number;
  /** Whether the inactivity timeout applies to this session. */
  includeInactivity: boolean;
  /** The session's attributes (relation; load it with `relations: { attributes: true }`). */
  attributes?: SessionAttributeRecord[];
  /** The app's user, when `createSessionEntities` was given a `user` relation. */
  user?: TUser | null;
}

/**
 * One row of `<prefix>session_attributes`. READ-ONLY, like {@link SessionRecord}: write
 * attributes only through `SessionService`.
 */
export interface SessionAttributeRecord {
  sessionId: string;
  key: string;
  /** The attribute's value as JSON text (`JSON.parse` it). */
  value: string;
  /** When this attribute expires on its own; null = lives as long as the session. */
  expiresAt: Date | null;
  version: number;
  /** The owning session (relation; load it with `relations: { session: true }`). */
  session?: SessionRecord;
}

/** An optional relation from {@link SessionRecord} (`user`) to the app's user entity. */
export interface SessionUserRelationOptions {
  /** The app's user entity: a function returning its class (as in `@ManyToOne(() => User)`), or its entity name. */
  target: string | (() => Function);
  /** The user entity's property (a string column) that `sessions.user_id` holds. @default the user's primary column */
  referencedColumnName?: string | undefined;
  /** Property of the user entity holding its sessions, for a `OneToMany` back to `SessionRecord`. */
  inverseSide?: string | undefined;
}

/** Where the tables are and how the entities are named; the same values as the module's options. */
export interface SessionEntitiesOptions {
  /** @default 'public' */
  schemaName?: string | undefined;
  /** @default '' */
  tablePrefix?: string | undefined;
  /**
   * Entity names, unique within one DataSource. @default `SessionRecord` and
   * `SessionAttributeRecord` for the default schema and prefix, else the same names followed by
   * `$<schema>$<prefix>` (pass names of your own if you prefer).
   */
  entityNames?: { session?: string | undefined; attribute?: string | undefined } | undefined;
  /**
   * A `ManyToOne` relation `user` from the session to the app's user entity, joined on
   * `user_id` (varchar(255): the user's referenced column must be a string column). No foreign
   * key is created: sessions may name users the app's table does not hold.
   */
  user?: SessionUserRelationOptions | undefined;
}

/** The entity classes of one deployment (schema + prefix). */
export interface SessionEntityClasses {
  /** `<prefix>sessions`. READ-ONLY: write through `SessionService`. */
  readonly session: new () => SessionRecord;
  /** `<prefix>session_attributes`. READ-ONLY: write through `SessionService`. */
  readonly attribute: new () => SessionAttributeRecord;
  /** Both, for `entities: [...]` or `TypeOrmModule.forFeature(...)`. */
  readonly all: [new () => SessionRecord, new () => SessionAttributeRecord];
}

/**
 * Builds TypeORM entity classes describing the session tables of one schema and prefix
 * exactly as the module creates them (column types, nullability, primary keys and their
 * names, the foreign key with `ON DELETE CASCADE`, every index by name and predicate), so
 * registering them leaves TypeORM's schema diff (`migration:generate`, `schema:log`) empty.
 * The lock and cache-epoch tables are internal and not mapped.
 *
 * They are classes (decorated here, as if written with `@Entity`), not `EntitySchema`s,
 * because TypeORM builds decorated classes and entity schemas separately and cannot relate
 * one kind to the other: classes can be joined to an app's decorated `User`.
 *
 * READ-ONLY: query sessions through repositories, write them only through `SessionService`,
 * which invalidates every node's cache and checks versions.
 *
 * @throws TypeError for an invalid schema name or prefix.
 * @example
 * const auth = createSessionEntities({ schemaName: 'auth', tablePrefix: 'app_', user: { target: () => User, inverseSide: 'sessions' } });
 * new DataSource({ ..., entities: [User, ...auth.all] });
 */
export function createSessionEntities(options: SessionEntitiesOptions = {}): SessionEntityClasses {
  const schemaName = options.schemaName ?? 'public';
  const tablePrefix = options.tablePrefix ?? '';
  if (!isValidSchemaName(schemaName)) throw new TypeError(`nestjs-pg-session: invalid schemaName ${JSON.stringify(schemaName)} for the entities.`);
  if (!isValidTablePrefix(tablePrefix)) throw new TypeError(`nestjs-pg-session: invalid tablePrefix ${JSON.stringify(tablePrefix)} for the entities.`);
  // `$` occurs in neither a schema name nor a prefix, so two places never share a name.
  const suffix = schemaName === 'public' && tablePrefix === '' ? '' : `$${schemaName}$${tablePrefix}`;
  const sessionsTable = `${tablePrefix}sessions`;
  const attributesTable = `${tablePrefix}session_attributes`;

  // Plain classes; TypeORM names entities after the class, so the name is set explicitly.
  const session = class {} as unknown as new () => SessionRecord;
  const attribute = class {} as unknown as new () => SessionAttributeRecord;
  Object.defineProperty(session, 'name', { value: options.entityNames?.session ?? `SessionRecord${suffix}` });
  Object.defineProperty(attribute, 'name', { value: options.entityNames?.attribute ?? `SessionAttributeRecord${suffix}` });
  const property = (target: Function, name: string, ...decorators: PropertyDecorator[]): void => {
    for (const decorate of decorators) decorate(target.prototype as object, name);
  };

  // PostgreSQL names an inline PRIMARY KEY `<table>_pkey` and an inline REFERENCES
  // `<table>_<column>_fkey`; TypeORM compares constraint names, so they are spelled out.
  Entity({ name: sessionsTable, schema: schemaName })(session);
  property(session, 'id', PrimaryColumn({ type: 'uuid', primaryKeyConstraintName: `${sessionsTable}_pkey` }));
  property(session, 'userId', Column({ name: 'user_id', type: 'varchar', length: 255 }));
  property(session, 'groupId', Column({ name: 'group_id', type: 'varchar', length: 255, nullable: true }));
  property(session, 'lastAccessed', Column({ name: 'last_accessed', type: 'timestamptz' }));
  property(session, 'expiresAt', Column({ name: 'expires_at', type: 'timestamptz' }));
  property(session, 'updatedAt', Column({ name: 'updated_at', type: 'timestamptz' }));
  property(session, 'createdAt', Column({ name: 'created_at', type: 'timestamptz' }));
  property(session, 'version', Column({ type: 'integer' }));
  property(session, 'includeInactivity', Column({ name: 'include_inactivity', type: 'boolean' }));
  property(session, 'attributes', OneToMany(() => attribute, 'session'));
  Index(`${tablePrefix}sessions_user_id_idx`, ['userId'])(session);
  Index(`${tablePrefix}sessions_group_id_idx`, ['groupId'], { where: 'group_id IS NOT NULL' })(session);
  Index(`${tablePrefix}sessions_expires_at_idx`, ['expiresAt'])(session);
  const user = options.user;
  if (user) {
    // No foreign key: a session may name a user the app's table does not (or no longer) hold.
    // Nullable, so loading the relation is a LEFT JOIN: sessions of no user (framework
    // stores' anonymous ones) and of users missing from the app's table stay visible.
    const userRelation: RelationOptions = { createForeignKeyConstraints: false, nullable: true };
    property(
      session,
      'user',
      user.inverseSide === undefined
        ? ManyToOne(user.target, userRelation)
        : ManyToOne(user.target, user.inverseSide, userRelation),
      JoinColumn({ name: 'user_id', ...(user.referencedColumnName === undefined ? {} : { referencedColumnName: user.referencedColumnName }) }),
    );
  }

  Entity({ name: attributesTable, schema: schemaName })(attribute);
  property(attribute, 'sessionId', PrimaryColumn({ name: 'session_id', type: 'uuid', primaryKeyConstraintName: `${attributesTable}_pkey` }));
  property(attribute, 'key', PrimaryColumn({ type: 'varchar', length: 255, primaryKeyConstraintName: `${attributesTable}_pkey` }));
  property(attribute, 'value', Column({ type: 'text' }));
  property(attribute, 'expiresAt', Column({ name: 'expires_at', type: 'timestamptz', nullable: true }));
  property(attribute, 'version', Column({ type: 'integer' }));
  property(
    attribute,
    'session',
    ManyToOne(() => session, 'attributes', { onDelete: 'CASCADE', nullable: false }),
    JoinColumn({ name: 'session_id', referencedColumnName: 'id', foreignKeyConstraintName: generatedConstraintName(attributesTable, 'session_id', 'fkey') }),
  );
  Index(`${tablePrefix}session_attributes_expires_at_idx`, ['expiresAt'], { where: 'expires_at IS NOT NULL' })(attribute);

  return { session, attribute, all: [session, attribute] };
}

/**
 * The name PostgreSQL gives an inline constraint (`<table>_<column>_<label>`), shortened as
 * PostgreSQL shortens it past 63 bytes: the longer of table and column loses characters
 * until it fits (names here are ASCII, so characters are bytes).
 */
function generatedConstraintName(table: string, column: string, label: string): string {
  let [a, b] = [table, column];
  while (a.length + b.length + label.length + 2 > 63) {
    if (a.length >= b.length) a = a.slice(0, -1);
    else b = b.slice(0, -1);
  }
  return `${a}_${b}_${label}`;
}

const defaults = createSessionEntities();

/** Entity of `public.sessions` (default schema, no prefix). READ-ONLY: write through `SessionService`. */
export const SessionRecordEntity: new () => SessionRecord = defaults.session;
/** Entity of `public.session_attributes` (default schema, no prefix). READ-ONLY: write through `SessionService`. */
export const SessionAttributeRecordEntity: new () => SessionAttributeRecord = defaults.attribute;
/** Both default entities, for `entities: [...]` or `TypeOrmModule.forFeature(...)`. */
export const SessionEntities: [new () => SessionRecord, new () => SessionAttributeRecord] = defaults.all;
