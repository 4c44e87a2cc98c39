import type { EntityManager } from 'typeorm';
import { InvalidInputError } from '../notifications.errors';
import type { Inbox } from '../persistence/inbox-model';
import type { NewNotificationRow } from '../persistence/notification-row';
import { isDataException } from '../persistence/postgres-errors';
import type { Action, Actor } from '../protocol';
import { isSimpleUserId, simpleNotificationInput } from '../validation/fast-paths';
import * as schema from '../validation/schemas';

/** What a host sends. `type` is its own category: 'announcement', 'reminder', 'message', … */
export interface NotificationInput {
  type: string;
  title?: string | null;
  body?: string | null;
  /** Any JSON object the client needs (links, ids). */
  data?: object | null;
  /** A repeated key for the same user (or broadcast, or topic) stores and delivers nothing new. */
  dedupeKey?: string | null;
  /** After this the notification is neither listed, counted nor delivered. */
  expiresAt?: Date | null;
  /**
   * Where a click on the notification goes: an `http(s)` URL or a site-relative path (`/…`, not
   * `//…`), at most 2048 characters; anything else (`javascript:`, `data:`, …) is refused.
   */
  url?: string | null;
  /** At most `MAX_ACTIONS` buttons, the first the primary one: each a `label` and a `url`, an `event` or both. */
  actions?: Action[] | null;
  /** Who caused it, for the avatar and name an inbox shows (`avatarUrl`: the rule of `url`). */
  actor?: Actor | null;
  /** At most `MAX_TAGS` distinct strings of 1 to 64 characters, for views (`Filter.tags`). */
  tags?: string[] | null;
  /**
   * The scope (workspace, tenant) it belongs to, 1 to 200 characters: only that scope's inboxes
   * show it. Absent or `null`: unscoped, shown in every scope's inbox (docs/scopes.md).
   */
  scope?: string | null;
  /**
   * A group key (e.g. `post:42:comments`), 1 to 200 characters: while the user has an unread,
   * undeleted item of this group, this notification replaces it as the group's one item, with
   * `group: { key, count, actors }` (docs/groups.md). Direct notifications only: refused on a
   * broadcast or a publication.
   */
  group?: string | null;
  /**
   * Other channels (docs/channels.md): per channel `true` (a broadcast or publication goes out
   * on it only so), `false` (not on it), or `{ after }` (on it, after this many ms, at most 30
   * days). Absent: the module's `channels` options decide (direct notifications only).
   */
  channels?: { email?: boolean | { after?: number }; webPush?: boolean | { after?: number } } | null;
}

/**
 * Which of a user's inboxes a method reads or changes: a scope's, or (absent or `null`) the
 * unscoped inbox, which shows only unscoped notifications (docs/scopes.md).
 */
export interface ScopeOption {
  scope?: string | null;
}

/** A notification as every row of one `notify`/`broadcast`/`publish` stores it, before its audience. */
export type NormalisedInput = Omit<NewNotificationRow, 'userId' | 'topic'>;

/** A user id as given, or an InvalidInputError: ids are checked, never rewritten (see `schema.userId`). */
export function checkedUserId(userId: string): string {
  return schema.parse(schema.userId, userId, 'userId');
}

/**
 * The inbox `opts` names, or an InvalidInputError naming `<what>: scope`. `userId` is checked
 * already (a bad one is the error named first).
 */
export function checkedInbox(userId: string, opts: ScopeOption | undefined, what: string): Inbox {
  return { userId, scope: checkedScope(opts, what) };
}

/** The scope `opts` names (`null`: unscoped), or an InvalidInputError naming `<what>: scope`. */
export function checkedScope(opts: ScopeOption | undefined, what: string): string | null {
  if (opts === undefined || opts === null) return null;
  if (typeof opts !== 'object') throw new InvalidInputError(`${what}: options: must be an object ({ scope? })`);
  return opts.scope === undefined || opts.scope === null ? null : schema.parse(schema.scope, opts.scope, `${what}: scope`);
}

export function checkedTopic(topic: string, what = 'topic'): string {
  return schema.parse(schema.topic, topic, what);
}

/** `notify`'s audience: one id or a non-empty list, at most `maxRecipients`, each once. */
export function checkedRecipients(to: string | string[], maxRecipients: number): string[] {
  // One valid id, the common call: no zod parse, no Set.
  if (isSimpleUserId(to) && maxRecipients >= 1) return [to];
  const list = typeof to === 'string' ? [to] : to;
  if (!Array.isArray(list) || list.length === 0) {
    throw new InvalidInputError('notify: no recipients: pass a user id or a non-empty array of user ids');
  }
  if (list.length > maxRecipients) {
    throw new InvalidInputError(`notify: ${list.length} recipients, at most ${maxRecipients} per call`);
  }
  return [...new Set(schema.parse(schema.userIds, list, 'notify: recipients'))];
}

/**
 * The input checked and in the shape of a row, every absent field `null` (or `[]`); the
 * presentation fields together, as JSON, take at most `maxPayloadBytes`.
 */
export function normaliseInput(input: NotificationInput, maxPayloadBytes: number): NormalisedInput {
  // `{ type, title?, body?, data? }` checked by hand; anything else (or anything invalid) by zod.
  const n: schema.NotificationInputOutput = simpleNotificationInput(input) ?? schema.parse(schema.notificationInput, input, 'notification');
  const json = presentationJson(n);
  // The schema checked every other string; `data` is any JSON, so its text is checked here, as stored.
  if (schema.hasUnstorableText(json)) {
    const data = (JSON.parse(json) as unknown[])[2];
    throw new InvalidInputError(
      `notification: ${schema.unstorableIn(data, 'data') ?? 'data: must not contain NUL characters or lone UTF-16 surrogates'}`,
    );
  }
  const size = Buffer.byteLength(json);
  if (size > maxPayloadBytes) {
    throw new InvalidInputError(
      `notification: title, body, data, url, actions, actor and tags take ${size} bytes, at most ${maxPayloadBytes} (maxPayloadBytes)`,
    );
  }
  return {
    type: n.type,
    title: n.title ?? null,
    body: n.body ?? null,
    data: n.data ?? null,
    dedupeKey: n.dedupeKey ?? null,
    expiresAt: n.expiresAt ?? null,
    url: n.url ?? null,
    actions: n.actions ?? [],
    actor: n.actor ?? null,
    tags: n.tags ?? [],
    scope: n.scope ?? null,
    group: n.group ?? null,
    // Not a column; `undefined` when not given (most notifications leave it to the module). The
    // key is always there: every normalised input has one shape (one hidden class for V8).
    channels: n.channels ?? undefined,
  };
}

/**
 * The row of one recipient (or audience) of a normalised input: every field written out, in
 * one order, where `{ ...n, userId, topic }` copied the input through V8's generic object
 * spread, per recipient (bench 2's profile: 4% of the server's samples).
 */
export function rowFor(n: NormalisedInput, userId: string | null, topic: string | null, scope = n.scope): NewNotificationRow {
  return {
    userId,
    topic,
    scope,
    type: n.type,
    title: n.title,
    body: n.body,
    data: n.data,
    dedupeKey: n.dedupeKey,
    expiresAt: n.expiresAt,
    url: n.url,
    actions: n.actions,
    actor: n.actor,
    tags: n.tags,
    group: n.group,
    channels: n.channels,
  };
}

/**
 * Groups are per user: a broadcast or a publication is one row for every user, which no one
 * user's group can replace. An InvalidInputError naming `notification.group` if it has one.
 */
export function refuseGroup(n: NormalisedInput, door: string): void {
  if (n.group !== null) {
    throw new InvalidInputError(
      `${door}: notification: group: groups apply to notifications to users; a broadcast or a publication stays one row for every user`,
    );
  }
}

/** `data` may hold what JSON cannot (a BigInt, a cycle): refused with the field named. */
function presentationJson(n: NotificationInput): string {
  try {
    return JSON.stringify([
      n.title ?? null,
      n.body ?? null,
      n.data ?? null,
      n.url ?? null,
      n.actions ?? null,
      n.actor ?? null,
      n.tags ?? null,
    ]);
  } catch (err) {
    throw new InvalidInputError(`notification: data: must be serialisable as JSON (${(err as Error).message})`);
  }
}

/**
 * Data Postgres refused (SQLSTATE class 22) is bad input, whatever the door: 400, dead-lettered,
 * never "retry later", since the same rows fail the same way every time. The schema refuses what
 * it knows first, with the field named; this covers what it does not.
 */
export function asInputError(err: unknown): never {
  if (!isDataException(err)) throw err;
  const { message, code, detail } = err as Error & { code: string; detail?: unknown };
  throw new InvalidInputError(
    `notification: the database cannot store it: ${message}${typeof detail === 'string' ? ` (${detail})` : ''} (SQLSTATE ${code})`,
  );
}

/** Options of `notify`, `broadcast` and `publish`. */
export interface NotifyOptions {
  /** Store inside this transaction: delivered once it commits, never if it rolls back. */
  manager?: EntityManager;
}
