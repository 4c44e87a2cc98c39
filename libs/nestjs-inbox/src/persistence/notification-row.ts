import type { ChannelChoices } from '../channels/channel-planner';
import type { Action, Actor, NotificationPayload } from '../protocol';

/** A notification to store: for one user, for a topic, or (both null) for everyone. */
export interface NewNotificationRow {
  userId: string | null;
  topic: string | null;
  /** The scope (docs/scopes.md), `null` for an unscoped notification. */
  scope: string | null;
  type: string;
  title: string | null;
  body: string | null;
  /** Any JSON object; stored as jsonb, sent as Socket.IO serialises it (JSON). */
  data: object | null;
  dedupeKey: string | null;
  expiresAt: Date | null;
  /** Checked links only (validation/schemas `urlProblem`): `http(s)` or site-relative. */
  url: string | null;
  /** None: `[]`, stored as NULL. */
  actions: Action[];
  actor: Actor | null;
  tags: string[];
  /** The group key (docs/groups.md), direct notifications only; `null` for none. */
  group: string | null;
  /** The notification's own choice of channels (docs/channels.md): planned after commit, not stored in the row. */
  channels?: ChannelChoices | null;
}

/** A stored notification as the store reads it. */
export interface NotificationRow {
  id: string;
  user_id: string | null;
  topic: string | null;
  scope: string | null;
  type: string;
  title: string | null;
  body: string | null;
  data: Record<string, unknown> | null;
  url: string | null;
  /** NULL for none. */
  actions: Action[] | null;
  actor: Actor | null;
  tags: string[];
  created_at: Date;
  read_at: Date | null;
  seen_at?: Date | null;
  archived?: boolean;
  /** The group columns (InboxGroups migration): null for an ungrouped row. */
  group_key?: string | null;
  group_count?: number | null;
  group_actors?: Actor[] | null;
  replaces?: string | null;
}

export function toPayload(row: NotificationRow): NotificationPayload {
  return {
    id: row.id,
    type: row.type,
    title: row.title,
    body: row.body,
    data: row.data,
    topic: row.topic,
    scope: row.scope ?? null,
    broadcast: row.user_id === null && row.topic === null,
    createdAt: isoOf(row.created_at),
    seenAt: row.seen_at ? row.seen_at.toISOString() : null,
    readAt: row.read_at ? row.read_at.toISOString() : null,
    archived: row.archived ?? false,
    url: row.url ?? null,
    actions: row.actions ?? [],
    actor: row.actor ?? null,
    tags: row.tags ?? [],
    group: row.group_key ? { key: row.group_key, count: row.group_count ?? 1, actors: row.group_actors ?? [] } : null,
    replaces: row.replaces ?? null,
  };
}

/** The last instant isoOf formatted: the rows of one INSERT share it (NotificationRepository.insert), formatted once a batch. */
let lastMs = NaN;
let lastIso = '';

function isoOf(date: Date): string {
  const ms = date.getTime();
  if (ms !== lastMs) {
    lastIso = date.toISOString();
    lastMs = ms;
  }
  return lastIso;
}
