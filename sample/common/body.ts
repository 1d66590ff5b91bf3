import { BadRequestException } from '@nestjs/common';

/**
 * Reads a required string field of a JSON body, trimmed to nothing else.
 * @throws BadRequestException (400) when it is missing, not a string, empty or too long.
 */
export function stringField(body: unknown, field: string, maxLength: number): string {
  const value = typeof body === 'object' && body !== null ? (body as Record<string, unknown>)[field] : undefined;
  if (typeof value !== 'string' || value.length === 0 || value.length > maxLength) {
    throw new BadRequestException(`"${field}" must be a non-empty string of at most ${maxLength} characters.`);
  }
  return value;
}
