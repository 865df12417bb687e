import { StoreInputError } from './errors.js';

/** The largest page any list returns, so a typo in an API query cannot load a whole table. */
export const MAX_LIST_LIMIT = 10_000;

/** Validates a list limit, applying the default; throws StoreInputError naming the method. */
export function checkLimit(limit: number | undefined, fallback: number, where: string): number {
  if (limit === undefined) return fallback;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) {
    throw new StoreInputError(
      `${where}: limit ${String(limit)} is invalid; use a whole number from 1 to ${MAX_LIST_LIMIT}`,
    );
  }
  return limit;
}

/** Normalises a one-or-many filter to a list; undefined means "no filter". */
export function asList<T extends string>(value: T | readonly T[] | undefined): readonly T[] | undefined {
  if (value === undefined) return undefined;
  return typeof value === 'string' ? [value] : value;
}
