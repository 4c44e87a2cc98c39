import type { NotificationPayload } from '../protocol';

/** A notification to store: for one user, for a topic, or (both null) for everyone. */
export interface NewNotificationRow {
  userId: string | null;
  topic: string | null;
  type: string;
  title: string | null;
  body: string | null;
  /** Any JSON object; stored as jsonb, sent as Socket.IO serialises it (JSON). */
  data: object | null;
  dedupeKey: string | null;
  expiresAt: Date | null;
}

/** A stored notification as the store reads it. */
export interface NotificationRow {
  id: string;
  user_id: string | null;
  topic: string | null;
  type: string;
  title: string | null;
  body: string | null;
  data: Record<string, unknown> | null;
  created_at: Date;
  read_at: Date | null;
}

export function toPayload(row: NotificationRow): NotificationPayload {
  return {
    id: row.id,
    type: row.type,
    title: row.title,
    body: row.body,
    data: row.data,
    topic: row.topic,
    broadcast: row.user_id === null && row.topic === null,
    createdAt: row.created_at.toISOString(),
    readAt: row.read_at ? row.read_at.toISOString() : null,
  };
}
