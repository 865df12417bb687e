import type { z } from 'zod';
import { InputError } from '../../core/index.js';

/** Validates request input; a failure is a 400 naming each bad field. */
export function parseInput<S extends z.ZodType>(
  schema: S,
  input: unknown,
  where: 'query' | 'body' | 'path',
): z.output<S> {
  const parsed = schema.safeParse(input ?? {});
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues
    .map((i) => `${i.path.length > 0 ? i.path.join('.') : where}: ${i.message}`)
    .join('; ');
  throw new InputError('SWAS-API-001', `invalid ${where}: ${problems}`);
}
