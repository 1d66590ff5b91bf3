/** Metadata key under which `@RequireAttribute` records its requirements (internal). */
export const REQUIRED_ATTRIBUTES = 'nestjs-pg-session:required-attributes';

/** One requirement recorded by `@RequireAttribute`, as `RequireAttributeGuard` reads it. */
export interface AttributeRequirement {
  /** Attribute key. */
  readonly key: string;
  /** Whether the value is compared. */
  readonly compare: boolean;
  /** The expected value, in JSON form (when `compare`). */
  readonly equals: unknown;
}
