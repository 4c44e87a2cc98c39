import { textProblem } from './schemas';

/**
 * Hand-written checks for the shapes nearly every call has, run before zod: a `notify` of
 * `{ type, title?, body?, data? }` to one user id. Each answers "valid, and here is what zod
 * would have returned" or `undefined` ("not this shape, or not valid"): the caller then runs
 * the zod schema, which gives the same answer for valid input and the error naming the field
 * for the rest. zod's parse of an object allocates its result, its issues list and a context
 * per field (docs/performance.md: CPU per notification, bench 2); these allocate nothing.
 * What they accept must be exactly what the schemas accept (validation/fast-paths.spec.ts).
 */

/** The keys the fast path knows; any other key (or a getter, a class instance) goes to zod. */
const SIMPLE_KEYS = new Set(['type', 'title', 'body', 'data']);

/** `schemas.userId`: 1 to 255 characters, no surrounding whitespace, storable. */
export function isSimpleUserId(s: unknown): s is string {
  return typeof s === 'string' && s.length >= 1 && s.length <= 255 && s.trim() === s && textProblem(s) === null;
}

/** `schemas.notificationInput` for `{ type, title?, body?, data? }`, or `undefined`. */
export function simpleNotificationInput(
  input: unknown,
): { type: string; title?: string | null; body?: string | null; data?: object | null } | undefined {
  if (typeof input !== 'object' || input === null || Object.getPrototypeOf(input) !== Object.prototype) return undefined;
  for (const key in input) if (!SIMPLE_KEYS.has(key)) return undefined;
  const { type, title, body, data } = input as Record<string, unknown>;
  if (typeof type !== 'string' || type.length > 100 || type.trim().length === 0 || textProblem(type) !== null) return undefined;
  if (title !== undefined && title !== null && (typeof title !== 'string' || title.length > 1000 || textProblem(title) !== null)) {
    return undefined;
  }
  if (body !== undefined && body !== null && (typeof body !== 'string' || textProblem(body) !== null)) return undefined;
  if (data !== undefined && data !== null && (typeof data !== 'object' || Array.isArray(data))) return undefined;
  return {
    type,
    title: title as string | null | undefined,
    body: body as string | null | undefined,
    data: data as object | null | undefined,
  };
}
