import { UseGuards } from '@nestjs/common';
import { assertIdentifier } from '../validation/text.validation.js';
import { REQUIRED_ATTRIBUTES, type AttributeRequirement } from './attribute-requirement.js';
import { toJsonValue } from './json-equal.js';
import { RequireAttributeGuard } from './require-attribute.guard.js';

/** Options of {@link RequireAttribute}. */
export interface RequireAttributeOptions {
  /**
   * The value the attribute must have, compared by deep equality of JSON values
   * (key order ignored; a `Date` compares as its ISO string, as it is stored).
   * Unset: any value will do, `null` included.
   */
  equals?: unknown;
}

/**
 * Method or controller decorator: the route answers 401 without a valid session,
 * and 403 unless the session holds a live (present, unexpired) attribute `key`,
 * equal to `options.equals` when that is given. Applies
 * {@link RequireAttributeGuard} itself, so nothing else is needed.
 *
 * Requirements add up: stacked decorators, and the ones of the controller (and its
 * parent classes) and of the handler, must all hold. A handler-level decorator
 * never relaxes a controller-level one.
 *
 * @example
 * ```ts
 * @RequireAttribute('elevated_access')
 * @Get('admin/secret')
 * secret() { ... }
 *
 * @RequireAttribute('role', { equals: 'admin' })
 * @Controller('admin')
 * export class AdminController { ... }
 * ```
 * @throws TypeError when `key` is not a non-empty string of at most 255 characters,
 *   or `equals` is not a JSON value.
 */
export function RequireAttribute(key: string, options: RequireAttributeOptions = {}): ClassDecorator & MethodDecorator {
  assertIdentifier(key, '@RequireAttribute(key): key');
  if (typeof options !== 'object' || options === null) throw new TypeError('@RequireAttribute(key, options): options must be an object.');
  const compare = options.equals !== undefined;
  const requirement: AttributeRequirement = Object.freeze({
    key,
    compare,
    equals: compare ? toJsonValue(options.equals, `@RequireAttribute("${key}", { equals })`) : undefined,
  });
  return ((target: object, propertyKey?: string | symbol, descriptor?: PropertyDescriptor): void => {
    const holder: object = descriptor === undefined ? target : (descriptor.value as object);
    if (!Reflect.hasOwnMetadata(REQUIRED_ATTRIBUTES, holder)) {
      if (descriptor === undefined) UseGuards(RequireAttributeGuard)(target as Function);
      else UseGuards(RequireAttributeGuard)(target, propertyKey!, descriptor);
    }
    // getMetadata also sees a parent class's requirements: a subclass adds to them.
    const existing = (Reflect.getMetadata(REQUIRED_ATTRIBUTES, holder) as readonly AttributeRequirement[] | undefined) ?? [];
    Reflect.defineMetadata(REQUIRED_ATTRIBUTES, [...existing, requirement], holder);
  }) as ClassDecorator & MethodDecorator;
}
