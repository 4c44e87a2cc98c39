import { z } from 'zod';
import { InvalidInputError } from '../notifications.errors';

const MAX_ID = 9223372036854775807n;

/** A notification id: a positive decimal bigint, as a string or a safe integer. */
export const notificationId = z
  .union([z.string(), z.number().int().positive().max(Number.MAX_SAFE_INTEGER)])
  .transform((v, ctx) => {
    const s = String(v);
    if (!/^[1-9][0-9]{0,18}$/.test(s) || BigInt(s) > MAX_ID) {
      ctx.addIssue({ code: 'custom', message: `not a notification id: ${JSON.stringify(v).slice(0, 40)}` });
      return z.NEVER;
    }
    return s;
  });

export const userId = z.string().trim().min(1, 'must be a non-empty string').max(255);
export const topic = z.string().trim().min(1, 'must be a non-empty string').max(255);

export const notificationInput = z
  .object({
    type: z.string().trim().min(1, 'must be a non-empty string').max(100),
    title: z.string().max(1000).nullish(),
    body: z.string().nullish(),
    data: z.record(z.string(), z.unknown()).nullish(),
    dedupeKey: z.string().min(1).max(255).nullish(),
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
