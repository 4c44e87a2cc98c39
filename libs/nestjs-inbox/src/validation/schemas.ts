import { z } from 'zod';
import { InvalidInputError } from '../notifications.errors';
import { textProblem } from './stored-text';
import {
  type Channel,
  CHANNELS,
  FILTER_STATES,
  type FilterState,
  MAX_ACTIONS,
  MAX_CHANNEL_AFTER_MS,
  MAX_HELD_IDS,
  MAX_SNOOZE_MS,
  MAX_TAGS,
  MAX_VIEWS,
  NOTIFICATION_ID_PATTERN,
  urlProblem,
} from '../protocol';

const MAX_ID = 9223372036854775807n;

/** A notification id: a positive decimal bigint, as a string or a safe integer. */
export const notificationId = z.union([z.string(), z.number().int().positive().max(Number.MAX_SAFE_INTEGER)]).transform((v, ctx) => {
  const s = String(v);
  if (!NOTIFICATION_ID_PATTERN.test(s) || BigInt(s) > MAX_ID) {
    ctx.addIssue({ code: 'custom', message: `not a notification id: ${JSON.stringify(v).slice(0, 40)}` });
    return z.NEVER;
  }
  return s;
});

/** `auth.held` of the handshake: ids the client holds below its cursor. */
export const heldIds = z.array(notificationId).max(MAX_HELD_IDS);

const storable = (s: string, ctx: z.RefinementCtx) => {
  const problem = textProblem(s);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
};
const text = () => z.string().superRefine(storable);

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
    .superRefine(storable);

export const userId = name();
export const topic = name();

const SCOPE_RULE = 'must be a string of 1 to 200 characters';
/**
 * A scope (docs/scopes.md): any text Postgres can store, 1 to 200 characters. Checked, never
 * rewritten, as a user id. `null` (unscoped) is the caller's `nullish()`.
 */
export const scope = z.string({ error: SCOPE_RULE }).min(1, SCOPE_RULE).max(200, SCOPE_RULE).superRefine(storable);

const GROUP_RULE = 'must be a string of 1 to 200 characters';
/** A group key (docs/groups.md): any text Postgres can store, 1 to 200 characters, kept as given. */
export const groupKey = z.string({ error: GROUP_RULE }).min(1, GROUP_RULE).max(200, GROUP_RULE).superRefine(storable);

/** `data`: any JSON object (plain or with toJSON), not an array. */
const jsonObject = z.custom<object>((v) => typeof v === 'object' && v !== null && !Array.isArray(v), 'must be a JSON object');

// The link rule is the wire's: the browser client checks received links with it again.
export { MAX_URL_LENGTH, urlProblem } from '../protocol';
export { hasUnstorableText, textProblem, unstorableIn } from './stored-text';

const link = () =>
  z.string().superRefine((s, ctx) => {
    const problem = textProblem(s) ?? urlProblem(s);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

/** An action's `event`: a name the host handles, safe in a log line and a Socket.IO event. */
export const ACTION_EVENT_PATTERN = /^[A-Za-z0-9][A-Za-z0-9:._-]{0,99}$/;

const action = z
  .object({
    label: text()
      .refine((s) => s.trim().length > 0, 'must be a non-empty string')
      .refine((s) => s.length <= 100, 'must be at most 100 characters'),
    url: link().optional(),
    event: z
      .string()
      .regex(ACTION_EVENT_PATTERN, 'must be an event name: a letter or digit, then up to 99 letters, digits, or : . _ -')
      .optional(),
  })
  .strict()
  .refine((a) => a.url !== undefined || a.event !== undefined, 'needs a url, an event or both');

const actorField = () => text().refine((s) => s.length >= 1 && s.length <= 255, 'must be 1 to 255 characters');
const actor = z.object({ id: actorField().optional(), name: actorField().optional(), avatarUrl: link().optional() }).strict();

const notificationTags = z
  .array(text().refine((s) => s.length >= 1 && s.length <= 64, 'must be 1 to 64 characters'))
  .max(MAX_TAGS, `must have at most ${MAX_TAGS} tags`)
  .superRefine((tags, ctx) => {
    tags.forEach((t, i) => {
      if (tags.indexOf(t) < i) ctx.addIssue({ code: 'custom', path: [i], message: `repeats ${JSON.stringify(t)}` });
    });
  });

/** Refuses each key of an object that is not a channel, naming it (`channels.sms: is not a channel`). */
export const onlyChannels = (o: object, ctx: z.RefinementCtx) => {
  for (const key of Object.keys(o)) {
    if (!(CHANNELS as readonly string[]).includes(key)) {
      ctx.addIssue({ code: 'custom', path: [key], message: `is not a channel (${CHANNELS.join(', ')})` });
    }
  }
};

const channelAfter = z
  .number({ error: `must be a number of ms from 0 to ${MAX_CHANNEL_AFTER_MS} (30 days)` })
  .int(`must be an integer number of ms`)
  .min(0, `must be a number of ms from 0 to ${MAX_CHANNEL_AFTER_MS} (30 days)`)
  .max(MAX_CHANNEL_AFTER_MS, `must be a number of ms from 0 to ${MAX_CHANNEL_AFTER_MS} (30 days)`);

/** `NotificationInput.channels`: per channel, `true`/`false` or `{ after }` (sent, after that delay). */
const channelChoice = z
  .union([z.boolean(), z.object({ after: channelAfter.optional() }).strict()], { error: 'must be true, false or { after }' })
  .optional();
export const notificationChannels = z
  .object({ email: channelChoice, webPush: channelChoice } satisfies Record<Channel, unknown>, {
    error: (issue) => (issue.code === 'invalid_type' ? `must be an object ({ ${CHANNELS.join(', ')} })` : undefined),
  })
  .catchall(z.unknown())
  .superRefine(onlyChannels);

export const notificationInput = z
  .object({
    type: text()
      .refine((s) => s.trim().length > 0, 'must be a non-empty string')
      .refine((s) => s.length <= 100, 'must be at most 100 characters'),
    title: text()
      .refine((s) => s.length <= 1000, 'must be at most 1000 characters')
      .nullish(),
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
    url: link().nullish(),
    actions: z.array(action).max(MAX_ACTIONS, `must have at most ${MAX_ACTIONS} actions`).nullish(),
    actor: actor.nullish(),
    tags: notificationTags.nullish(),
    scope: scope.nullish(),
    group: groupKey.nullish(),
    channels: notificationChannels.nullish(),
  })
  .strict();

export type NotificationInputOutput = z.output<typeof notificationInput>;

/** A notification type as a filter names it. */
export const typeName = z.string().min(1, 'must be a non-empty string').max(100).superRefine(storable);
const tagName = z.string().min(1, 'must be a non-empty string').max(64).superRefine(storable);

/** Not an object: zod's own message ("expected object, received string") does not say what to send. */
const isObject = (what: string) =>
  z.custom<unknown>((v) => typeof v === 'object' && v !== null && !Array.isArray(v), `must be an object (${what})`);
export const object = <T extends z.ZodRawShape>(shape: T, what: string) => isObject(what).pipe(z.object(shape).strict());

export const filter = object(
  {
    type: z.union([typeName, z.array(typeName).min(1, 'must name at least one type').max(MAX_VIEWS)]).optional(),
    topic: topic.optional(),
    state: z
      .string()
      .refine((s): s is FilterState => (FILTER_STATES as readonly string[]).includes(s), {
        message: `must be one of ${FILTER_STATES.join(', ')}`,
      })
      .optional(),
    tags: z.array(tagName).min(1, 'must name at least one tag').max(MAX_TAGS).optional(),
    before: notificationId.optional(),
    after: notificationId.optional(),
    group: groupKey.optional(),
  },
  '{ type?, topic?, state?, tags?, before?, after?, group? }',
);
export type ParsedFilter = z.output<typeof filter>;

export const listQuery = z
  .object({
    before: notificationId.optional(),
    limit: z.number().int().positive().optional(),
    unreadOnly: z.boolean().optional(),
    type: typeName.optional(),
    filter: filter.optional(),
  })
  .strict();

/** `{ ids }` or `{ filter }`: what a state operation applies to, parsed by the key it has (for errors that name the field). */
const idsSelection = z.object({ ids: z.lazy(() => idList) }).strict();
const filterSelection = z.object({ filter }).strict();
export function parseSelection(value: unknown, what: string): { ids: string[] } | { filter: ParsedFilter } {
  const has = (key: string) => typeof value === 'object' && value !== null && key in value;
  if (has('ids')) return parse(idsSelection, value, what);
  if (has('filter')) return parse(filterSelection, value, what);
  throw new InvalidInputError(`${what}: must be { ids: [...] } or { filter: {...} }`);
}

/** When a snooze ends: a valid time in the future, within a year. */
export const snoozeUntil = z
  .date({ error: 'must be a Date (an ISO 8601 string over the socket)' })
  .refine((d) => !Number.isNaN(d.getTime()), 'must be a valid time')
  .refine((d) => d.getTime() > Date.now(), 'must be in the future')
  .refine((d) => d.getTime() <= Date.now() + MAX_SNOOZE_MS, 'must be within a year');
export const snoozePayload = z
  .object({
    ids: z.lazy(() => idList),
    until: z.iso.datetime({ offset: true, error: 'must be an ISO 8601 time' }).transform((s) => new Date(s)),
  })
  .strict();

/** Named views to count: `{ [name]: Filter }`. */
export const views = isObject('{ [name]: Filter }')
  // zod's record skips an own `__proto__` key (JSON.parse makes one), so a count would be answered without it.
  .refine((v) => !Object.prototype.hasOwnProperty.call(v, '__proto__'), { path: ['__proto__'], message: 'is not a view name' })
  .pipe(z.record(z.string().min(1).max(64).superRefine(storable), filter))
  .refine((v) => Object.keys(v).length <= MAX_VIEWS, `at most ${MAX_VIEWS} views`);
export const countsPayload = z.object({ views }).strict();

/** Built once: a zod schema costs more to build than to run (bench: `notify` CPU). */
export const userIds = z.array(userId);

export const idList = z.array(notificationId).min(1, 'must name at least one id').max(1000);

export const markReadPayload = z.object({ ids: idList }).strict();
export const topicPayload = z.object({ topic }).strict();
/** `notifications:action`: a notification and the index of one of its actions. */
export const actionPayload = z
  .object({
    id: notificationId,
    action: z
      .number()
      .int()
      .min(0)
      .max(MAX_ACTIONS - 1, `must be below ${MAX_ACTIONS}`),
  })
  .strict();
export const emptyPayload = z.object({}).strict();

/** Parses `value` or throws an {@link InvalidInputError} naming the field and the problem. */
export function parse<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message));
  throw new InvalidInputError(`${what}: ${problems.join('; ')}`);
}
