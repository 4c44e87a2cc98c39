import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { Channel, ChannelPreference, QuietHours } from '../../protocol';
import { type Inbox, scopeColumn } from '../inbox-model';
import {
  ABANDONED_SQL,
  ANY_DUE_SQL,
  CLAIM_SQL,
  DIGEST_INBOXES_SQL,
  DIGEST_SQL,
  HISTORY_SQL,
  LOG_SQL,
  MOVE_SQL,
  PLAN_DIRECT_SQL,
  PLAN_SHARED_SQL,
  PLAN_USERS_SQL,
} from '../sql/channels.sql';
import { StatementRunner } from '../statement-runner';

/** A send to plan: a direct row's, for its user. */
export interface PlannedSend {
  notificationId: string;
  userId: string;
  channel: Channel;
  /** The notification's scope, '' unscoped: whose inbox decides. */
  scope: string;
  until: 'seen' | 'read';
  afterMs: number;
}

/** A shared row's send on one channel, as its planner gives it. */
export interface SharedSend {
  channel: Channel;
  until: 'seen' | 'read';
  afterMs: number;
}

const sendColumns = (sends: SharedSend[]) => [sends.map((s) => s.channel), sends.map((s) => s.until), sends.map((s) => s.afterMs)];

/** A claimed send, locked by the claim's transaction. */
export interface ClaimedSend {
  notification_id: string;
  user_id: string;
  channel: Channel;
  scope: string;
  until: 'seen' | 'read';
  attempts: number;
}

/** What became of a send: one line of a user's history. */
export interface ChannelLogEntry {
  id: string;
  /** The inbox's scope, `null` for the unscoped one. */
  scope: string | null;
  channel: Channel;
  notificationIds: string[];
  outcome: 'sent' | 'skipped' | 'deferred' | 'failed' | 'retry' | 'cancelled';
  reason: string | null;
  attempt: number;
  messageId: string | null;
  at: Date;
}

export type SendStatus = 'pending' | 'sending' | 'sent' | 'skipped' | 'failed' | 'cancelled';

/** An inbox's channel preferences and quiet hours (its row of inbox_user_state). */
export interface ChannelSettings {
  channels: Partial<Record<Channel, ChannelPreference>>;
  quietHours: QuietHours | null;
}

/** The channel engine's tables: inbox_channel_send (the sends), inbox_channel_log (their outcomes), the preferences' columns. */
@Injectable()
export class ChannelSendRepository {
  constructor(private readonly runner: StatementRunner) {}

  async planDirect(sends: PlannedSend[], tx?: EntityManager): Promise<void> {
    if (sends.length === 0) return;
    await this.runner.query(
      PLAN_DIRECT_SQL,
      [
        sends.map((s) => s.notificationId),
        sends.map((s) => s.userId),
        sends.map((s) => s.channel),
        sends.map((s) => s.scope),
        sends.map((s) => s.until),
        sends.map((s) => s.afterMs),
      ],
      { tx },
    );
  }

  /** One batch of a shared row's sends to its known audience (see PLAN_SHARED_SQL): the last user planned, null when none was. */
  async planShared(
    row: { id: string; topic: string | null; scope: string },
    sends: SharedSend[],
    afterUser: string,
    batch: number,
  ): Promise<{ last: string | null; n: number }> {
    const [r] = await this.runner.query<{ last: string | null; n: number }>(PLAN_SHARED_SQL, [
      row.id,
      row.topic,
      row.scope,
      ...sendColumns(sends),
      afterUser,
      batch,
    ]);
    return r;
  }

  /** One batch of a broadcast's sends to users the host named (see PLAN_USERS_SQL). */
  async planUsers(row: { id: string; scope: string }, sends: SharedSend[], userIds: string[]): Promise<void> {
    await this.runner.query(PLAN_USERS_SQL, [row.id, row.scope, userIds, ...sendColumns(sends)]);
  }

  async anyDue(): Promise<boolean> {
    const [{ due }] = await this.runner.query<{ due: boolean }>(ANY_DUE_SQL);
    return due;
  }

  /** Due sends of `channels`, each its own message (see CLAIM_SQL). */
  claim(tx: EntityManager, channels: Channel[], limit: number): Promise<ClaimedSend[]> {
    if (channels.length === 0) return Promise.resolve([]);
    return this.runner.query<ClaimedSend>(CLAIM_SQL, [channels, limit], { tx });
  }

  /** Inboxes with a digest of `channel` due, each locked for `tx` (see DIGEST_INBOXES_SQL). */
  digestInboxes(tx: EntityManager, channel: Channel, windowMs: number, limit: number): Promise<{ user_id: string; scope: string }[]> {
    return this.runner.query(DIGEST_INBOXES_SQL, [channel, windowMs, limit], { tx });
  }

  /** The sends of one inbox's digest, locked for `tx` (see DIGEST_SQL). */
  digest(
    tx: EntityManager,
    inbox: { user_id: string; scope: string },
    channel: Channel,
    windowMs: number,
    limit: number,
  ): Promise<ClaimedSend[]> {
    return this.runner.query<ClaimedSend>(DIGEST_SQL, [inbox.user_id, inbox.scope, channel, windowMs, limit], { tx });
  }

  async move(
    sends: { userId: string; channel: Channel; ids: string[] },
    status: SendStatus,
    opts: { dueAt?: Date; attempt?: boolean; tx?: EntityManager } = {},
  ): Promise<void> {
    await this.runner.query(MOVE_SQL, [sends.userId, sends.channel, sends.ids, status, opts.dueAt ?? null, opts.attempt ? 1 : 0], {
      tx: opts.tx,
    });
  }

  async log(
    entry: Omit<ChannelLogEntry, 'id' | 'at' | 'scope' | 'messageId'> & { userId: string; scope: string; messageId?: string | null },
    tx?: EntityManager,
  ): Promise<void> {
    await this.runner.query(
      LOG_SQL,
      [
        entry.userId,
        entry.scope,
        entry.channel,
        entry.notificationIds,
        entry.outcome,
        entry.reason,
        entry.attempt,
        entry.messageId ?? null,
      ],
      { tx },
    );
  }

  /** Marks sends abandoned mid-send (older than `ms` in `sending`) failed; returns the channel of each. */
  async failAbandoned(ms: number): Promise<Channel[]> {
    const rows = await this.runner.query<{ channel: Channel }>(ABANDONED_SQL, [ms]);
    return rows.map((r) => r.channel);
  }

  async history(userId: string, scope: string | null | undefined, before: string | null, limit: number): Promise<ChannelLogEntry[]> {
    const rows = await this.runner.query<{
      id: string;
      scope: string;
      channel: Channel;
      notification_ids: string[];
      outcome: ChannelLogEntry['outcome'];
      reason: string | null;
      attempt: number;
      message_id: string | null;
      at: Date;
    }>(HISTORY_SQL, [userId, before, scope === undefined ? null : (scope ?? ''), limit]);
    return rows.map((r) => ({
      id: r.id,
      scope: r.scope === '' ? null : r.scope,
      channel: r.channel,
      notificationIds: r.notification_ids,
      outcome: r.outcome,
      reason: r.reason,
      attempt: r.attempt,
      messageId: r.message_id,
      at: r.at,
    }));
  }

  async settings(inbox: Inbox, tx?: EntityManager): Promise<ChannelSettings & { mutedTypes: string[]; mutedTopics: string[] }> {
    const [row] = await this.runner.query<{
      channel_preferences: ChannelSettings['channels'] | null;
      quiet_hours: QuietHours | null;
      muted_types: string[];
      muted_topics: string[];
    }>(
      `SELECT channel_preferences, quiet_hours, muted_types, muted_topics FROM inbox_user_state WHERE user_id = $1 AND scope = $2`,
      [inbox.userId, scopeColumn(inbox)],
      { tx },
    );
    return {
      channels: row?.channel_preferences ?? {},
      quietHours: row?.quiet_hours ?? null,
      mutedTypes: row?.muted_types ?? [],
      mutedTopics: row?.muted_topics ?? [],
    };
  }

  /** Replaces the channels named (each as a whole) and, unless undefined, the quiet hours; returns both. */
  async setSettings(
    inbox: Inbox,
    channels: ChannelSettings['channels'] | undefined,
    quietHours: QuietHours | null | undefined,
  ): Promise<ChannelSettings> {
    const [row] = await this.runner.query<{ channel_preferences: ChannelSettings['channels'] | null; quiet_hours: QuietHours | null }>(
      `INSERT INTO inbox_user_state AS us (user_id, scope, channel_preferences, quiet_hours)
       VALUES ($1, $2, COALESCE($3::jsonb, '{}'), CASE WHEN $5 THEN $4::jsonb END)
       ON CONFLICT (user_id, scope) DO UPDATE
         SET channel_preferences = COALESCE(us.channel_preferences, '{}') || COALESCE($3::jsonb, '{}'),
             quiet_hours = CASE WHEN $5 THEN $4::jsonb ELSE us.quiet_hours END
       RETURNING channel_preferences, quiet_hours`,
      [
        inbox.userId,
        scopeColumn(inbox),
        channels === undefined ? null : JSON.stringify(channels),
        quietHours ? JSON.stringify(quietHours) : null,
        quietHours !== undefined,
      ],
    );
    return { channels: row.channel_preferences ?? {}, quietHours: row.quiet_hours ?? null };
  }
}
