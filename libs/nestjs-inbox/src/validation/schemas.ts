import { z } from 'zod';
import { InvalidInputError } from '../notifications.errors';
import { MAX_HELD_IDS, NOTIFICATION_ID_PATTERN } from '../protocol';

const MAX_ID = 9223372036854775807n;

/** A notification id: a positive decimal bigint, as a string or a safe integer. */
export const notificationId = z
  .union([z.string(), z.number().int().positive().max(Number.MAX_SAFE_INTEGER)])
  .transform((v, ctx) => {
    const s = String(v);
    if (!NOTIFICATION_ID_PATTERN.test(s) || BigInt(s) > MAX_ID) {
      ctx.addIssue({ code: 'custom', message: `not a notification id: ${JSON.stringify(v).slice(0, 40)}` });
      return z.NEVER;
    }
    return s;
  });

/** `auth.held` of the handshake: ids the client holds below its cursor. */
export const heldIds = z.array(notificationId).max(MAX_HELD_IDS);

/** Postgres text cannot hold NUL; refuse it here with a clear message, not in the database. */
const noNul = (s: string) => !s.includes('\0');
const text = () => z.string().refine(noNul, 'must not contain NUL characters');

/**
 * A user id or topic is checked, never rewritten: trimming would make ' alice' and 'alice'
 * share one inbox.
 */
const name = () =>
  z
    .string()
    .min(1, 'must be a non-empty string')
    .max(255)
    .refine((s) => s.trim() === s, 'must not start or end with whitespace')
    .refine(noNul, 'must not contain NUL characters');

export const userId = name();
export const topic = name();

/** `data`: any JSON object (plain or with toJSON), not an array. */
const jsonObject = z.custom<object>(
  (v) => typeof v === 'object' && v !== null && !Array.isArray(v),
  'must be a JSON object',
);

export const notificationInput = z
  .object({
    type: text()
      .refine((s) => s.trim().length > 0, 'must be a non-empty string')
      .refine((s) => s.length <= 100, 'must be at most 100 characters'),
    title: text().refine((s) => s.length <= 1000, 'must be at most 1000 characters').nullish(),
    body: text().nullish(),
    data: jsonObject.nullish(),
    dedupeKey: text()
      .refine((s) => s.length >= 1 && s.length <= 255, 'must be 1 to 255 characters')
      .nullish(),
    expiresAt: z
      .date()
      .refine((d) => !Number.isNaN(d.getTime()), 'must be a valid Date')
      .refine((d) => d.getTime() > Date.now(), 'must be in the future')
      .nullish(),
  })
  .strict();

export const listQuery = z
  .object({
    before: notificationId.optional(),
    limit: z.number().int().positive().optional(),
    unreadOnly: z.boolean().optional(),
    type: z.string().min(1).max(100).optional(),
  })
  .strict();

/** Built once: a zod schema costs more to build than to run (bench: `notify` CPU). */
export const userIds = z.array(userId);

export const idList = z.array(notificationId).min(1, 'must name at least one id').max(1000);

export const markReadPayload = z.object({ ids: idList }).strict();
export const topicPayload = z.object({ topic }).strict();
export const emptyPayload = z.object({}).strict();

/** Parses `value` or throws an {@link InvalidInputError} naming the field and the problem. */
export function parse<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message));
  throw new InvalidInputError(`${what}: ${problems.join('; ')}`);
}
