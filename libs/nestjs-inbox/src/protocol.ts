/**
 * The wire protocol between the gateway and the browser: event names, the default namespace,
 * the id format and the payload types, in one place for the server, the browser client, the
 * validation schemas and the tests. The browser client imports this file, so it imports
 * nothing from Nest or Node.
 */

// The rules every door and the browser client check alike, and the preferences' types, in files of their own.
export * from './protocol-text';
export * from './protocol-preferences';
import type { PreferencesAnswer, PreferencesUpdate, PushSubscriptionJson } from './protocol-preferences';

/** Default Socket.IO namespace of the notifications gateway. */
export const DEFAULT_NAMESPACE = '/notifications';

/** Events the server sends to the browser. */
export const ServerEvent = {
  Notification: 'notification',
  Synced: 'notifications:synced',
  Unread: 'notifications:unread',
  Read: 'notifications:read',
  /** Seen, read, archived, unarchived or deleted elsewhere (another tab, device or the host). */
  State: 'notifications:state',
  /** A watched view's count changed (see `ClientEvent.Counts`). */
  Counts: 'notifications:counts',
  Error: 'notifications:error',
} as const;

/** Events the browser sends to the server; each one is acknowledged. */
export const ClientEvent = {
  List: 'notifications:list',
  Read: 'notifications:read',
  ReadAll: 'notifications:read-all',
  Subscribe: 'topics:subscribe',
  Unsubscribe: 'topics:unsubscribe',
  Seen: 'notifications:seen',
  Archive: 'notifications:archive',
  Unarchive: 'notifications:unarchive',
  Delete: 'notifications:delete',
  Snooze: 'notifications:snooze',
  Counts: 'notifications:counts',
  PreferencesGet: 'preferences:get',
  PreferencesSet: 'preferences:set',
  PushKey: 'push:key',
  PushSubscribe: 'push:subscribe',
  PushUnsubscribe: 'push:unsubscribe',
  /** The user activated an action of a notification: `{ id, action }` (its index) → `{ ok }`; an `action` engagement event. */
  Action: 'notifications:action',
} as const;

/**
 * A notification id on the wire: a Postgres `bigint` as a decimal string, positive, without
 * leading zeros (so ids compare by length, then lexicographically). The server also checks
 * that it fits a signed 64-bit integer.
 */
export const NOTIFICATION_ID_PATTERN = /^[1-9][0-9]{0,18}$/;

/** Most ids a client lists in `auth.held`. */
export const MAX_HELD_IDS = 256;

/** Most tags on a notification, and most tags or types a filter names. */
export const MAX_TAGS = 10;
/** Most actions on a notification (the first is the primary one). */
export const MAX_ACTIONS = 3;
/** Most named views one `notifications:counts` watches. */
export const MAX_VIEWS = 20;
/** The longest snooze: its `until` is within a year (and `minSnoozeMs` cannot exceed it). */
export const MAX_SNOOZE_MS = 366 * 24 * 3600 * 1000;

/**
 * A button of a notification: a `label` and what it does, a link (`url`, `http(s)` or
 * site-relative) and/or an `event` the host handles (the page gets it from the client's `action`
 * event; the server gets `notifications:action` and makes an `action` engagement event).
 */
export interface Action {
  label: string;
  url?: string;
  event?: string;
}

/** Who caused the notification, for the avatar and name an inbox shows. */
export interface Actor {
  id?: string;
  name?: string;
  avatarUrl?: string;
}

/**
 * Which of a user's notifications an operation or a view is about. `state` (default: the
 * inbox, i.e. every notification neither archived nor deleted): `unseen`, `unread`, `read`,
 * `archived` (only archived ones) or `all` (archived ones too). Deleted ones are never in a view.
 */
export interface Filter {
  type?: string | string[];
  topic?: string;
  state?: FilterState;
  /** Notifications carrying every one of these tags. */
  tags?: string[];
  /** Older than this id. */
  before?: string;
  /** Newer than this id. */
  after?: string;
  /**
   * Every notification of this group key (docs/groups.md), newest first, including those an
   * item superseded: a group's detail list ("show all 12 comments").
   */
  group?: string;
}

export const FILTER_STATES = ['unseen', 'unread', 'read', 'archived', 'all'] as const;
export type FilterState = (typeof FILTER_STATES)[number];

/** Notifications named by id, or every notification of the user a filter selects. */
export type Selection = { ids: string[] } | { filter: Filter };

/**
 * What a state operation did: `unarchived` undoes `archived`; `snoozed` hides the notification
 * until a time, when it comes back as a new one (a new id, unread); the others are final.
 */
export type StateChange = 'seen' | 'read' | 'archived' | 'unarchived' | 'deleted' | 'snoozed';

/**
 * `notifications:state`: the ids (or the filter) whose state changed, and how. Every socket of
 * the user receives it, whatever its scope: `scope` is the scope the change was made in (`null`:
 * unscoped). A client applies it to an item it holds iff `item.scope === null || item.scope ===
 * scope` (state on an unscoped notification is shared by all the user's scopes; see
 * {@link appliesTo}). Absent from servers before scopes: read it as `null`.
 */
export type StatePayload = Selection & { change: StateChange; scope?: string | null };

/** The answer to a state operation: how many notifications changed, and the new badge counts. */
export interface StateResult {
  changed: number;
  unread: number;
  unseen: number;
}

/** A notification as the browser receives it. Ids are decimal strings (Postgres `bigint`). */
export interface NotificationPayload {
  id: string;
  type: string;
  title: string | null;
  body: string | null;
  data: Record<string, unknown> | null;
  /** The topic it was published to; `null` for direct notifications and broadcasts. */
  topic: string | null;
  /**
   * The scope (workspace, tenant) it belongs to, `null` for an unscoped one, which every scope's
   * inbox shows (docs/scopes.md).
   */
  scope: string | null;
  /** `true` for a broadcast to every user. */
  broadcast: boolean;
  createdAt: string;
  /** When this user saw it (their inbox showed it), or `null`; reading implies seeing. */
  seenAt: string | null;
  readAt: string | null;
  /** Archived by this user: out of the default view, still listable. */
  archived: boolean;
  /** Where a click on the notification goes: `http(s)` or site-relative. */
  url: string | null;
  actions: Action[];
  actor: Actor | null;
  tags: string[];
  /**
   * The group it is the newest of (docs/groups.md): its key, how many notifications the item
   * stands for, and their latest distinct actors (at most 5, newest first); `null` if ungrouped.
   */
  group: NotificationGroup | null;
  /**
   * The id of the item this one supersedes, `null` if none: a client drops the item of that id
   * it holds, and holds at most one unread item per `group.key` (docs/protocol.md#groups).
   */
  replaces: string | null;
}

/** A group's item: see NotificationPayload.group. */
export interface NotificationGroup {
  key: string;
  count: number;
  actors: Actor[];
}

export interface ListQuery {
  /** Only notifications older than this id (the `nextCursor` of the previous page). */
  before?: string;
  /** Page size; defaults to the module's `listLimit.default`. */
  limit?: number;
  unreadOnly?: boolean;
  type?: string;
  /** Which notifications; `unreadOnly` and `type` are shorthands for `filter.state` and `filter.type`. */
  filter?: Filter;
}

export interface ListPage {
  items: NotificationPayload[];
  /** Pass as `before` to get the next (older) page; `null` on the last page. */
  nextCursor: string | null;
}

export interface AckError {
  error: { code: ErrorCode; message: string };
}

export type ErrorCode =
  | 'INVALID_INPUT'
  | 'FORBIDDEN'
  | 'RATE_LIMITED'
  | 'PAYLOAD_TOO_LARGE'
  | 'TOO_MANY_CONNECTIONS'
  | 'UNAUTHORIZED'
  | 'UNAVAILABLE'
  | 'INTERNAL';

export type Ack<T> = T | AckError;

export interface SyncedPayload {
  unread: number;
  unseen: number;
  /** More notifications were missed than the catch-up sends; page older ones with `list`. */
  truncated: boolean;
  /**
   * The newest notification id (anyone's) the catch-up covered, or `null` after a truncated one.
   * A client that holds nothing newer sends it as `auth.cursor` on its next connection, so that
   * one resumes here even if no notification reached it meanwhile.
   */
  cursor: string | null;
}

/** `notifications:unread`: the inbox's unread and unseen counts. */
export interface UnreadPayload {
  count: number;
  unseen: number;
}

/** `notifications:read` (the first protocol's form of a read); `scope` as in {@link StatePayload}. */
export type ReadPayload = ({ ids: string[] } | { all: true }) & { scope?: string | null };

/**
 * Whether a state message (`notifications:state`, `notifications:read`) made in `messageScope`
 * applies to an item of `itemScope` a client holds: an unscoped item's state is shared by every
 * scope of the user; a scoped item's exists only in its scope.
 */
export function appliesTo(itemScope: string | null | undefined, messageScope: string | null | undefined): boolean {
  return itemScope == null || itemScope === (messageScope ?? null);
}

/** Events the server emits, for typed Socket.IO clients. */
export interface ServerToClientEvents {
  /** `badge`: to a socket whose handshake set `auth.inlineBadge`, the inbox's badge with this notification counted (docs/protocol.md). */
  [ServerEvent.Notification]: (n: NotificationPayload, badge?: UnreadPayload) => void;
  [ServerEvent.Synced]: (p: SyncedPayload) => void;
  [ServerEvent.Unread]: (p: UnreadPayload) => void;
  [ServerEvent.Read]: (p: ReadPayload) => void;
  [ServerEvent.State]: (p: StatePayload) => void;
  [ServerEvent.Counts]: (p: { counts: Record<string, number> }) => void;
  [ServerEvent.Error]: (p: AckError['error']) => void;
}

/** Events the browser emits, each with an acknowledgement. */
export interface ClientToServerEvents {
  [ClientEvent.List]: (q: ListQuery, ack: (r: Ack<ListPage>) => void) => void;
  [ClientEvent.Read]: (p: Selection, ack: (r: Ack<StateResult>) => void) => void;
  [ClientEvent.ReadAll]: (p: Record<string, never>, ack: (r: Ack<StateResult>) => void) => void;
  [ClientEvent.Subscribe]: (p: { topic: string }, ack: (r: Ack<{ ok: true }>) => void) => void;
  [ClientEvent.Unsubscribe]: (p: { topic: string }, ack: (r: Ack<{ ok: true }>) => void) => void;
  [ClientEvent.Seen]: (p: Selection, ack: (r: Ack<StateResult>) => void) => void;
  [ClientEvent.Archive]: (p: Selection, ack: (r: Ack<StateResult>) => void) => void;
  [ClientEvent.Unarchive]: (p: Selection, ack: (r: Ack<StateResult>) => void) => void;
  [ClientEvent.Delete]: (p: Selection, ack: (r: Ack<StateResult>) => void) => void;
  /** `until`: an ISO 8601 time in the future. */
  [ClientEvent.Snooze]: (p: { ids: string[]; until: string }, ack: (r: Ack<StateResult>) => void) => void;
  /** Counts each view's unread notifications (unseen ones for `state: 'unseen'`) and then pushes them when they change. */
  [ClientEvent.Counts]: (p: { views: Record<string, Filter> }, ack: (r: Ack<{ counts: Record<string, number> }>) => void) => void;
  [ClientEvent.PreferencesGet]: (p: Record<string, never>, ack: (r: Ack<PreferencesAnswer>) => void) => void;
  [ClientEvent.PreferencesSet]: (p: PreferencesUpdate, ack: (r: Ack<PreferencesAnswer>) => void) => void;
  [ClientEvent.PushKey]: (p: Record<string, never>, ack: (r: Ack<{ publicKey: string }>) => void) => void;
  [ClientEvent.PushSubscribe]: (p: PushSubscriptionJson, ack: (r: Ack<{ ok: true }>) => void) => void;
  [ClientEvent.PushUnsubscribe]: (p: { endpoint: string }, ack: (r: Ack<{ ok: true }>) => void) => void;
  [ClientEvent.Action]: (p: { id: string; action: number }, ack: (r: Ack<{ ok: true }>) => void) => void;
}

/** What the browser may send in the handshake's `auth`. */
export interface HandshakeAuth {
  /** Id of the newest notification the client already holds. */
  cursor?: string;
  /**
   * Ids the client holds just below `cursor`, newest first, at most `MAX_HELD_IDS`. The
   * catch-up resends older rows that may have been missed (see docs/protocol.md, Catch-up); those
   * listed here it leaves out, so a client that lost nothing gets nothing twice.
   */
  held?: string[];
  /**
   * The scope (workspace, tenant) this socket works in; absent or `null`: unscoped (only the
   * unscoped notifications). A scope is allowed only if the host's `canAccessScope(userId,
   * scope)` says so; otherwise the handshake is refused with `FORBIDDEN`.
   */
  scope?: string | null;
}
