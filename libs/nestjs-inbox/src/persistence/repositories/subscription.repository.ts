import { Injectable } from '@nestjs/common';
import { type Inbox, inboxKey, scopeColumn } from '../inbox-model';
import { StatementRunner } from '../statement-runner';

/** The topics a user is subscribed to per scope (subscriptions (user, topic, scope)), from which position of each stream. */
@Injectable()
export class SubscriptionRepository {
  constructor(private readonly runner: StatementRunner) {}

  /**
   * Subscribes the inbox's user to `topic` in its scope (the stream (topic, scope)), from the
   * stream's current end on (rows still in flight included: they commit after it). Already
   * subscribed, the subscription keeps its start. Returns the stream's end read here: what
   * commits after it is new to this call either way (see InboxSettings.subscribe).
   */
  async subscribe(inbox: Inbox, topic: string): Promise<string> {
    const [{ seq }] = await this.runner.query<{ seq: string }>(
      `WITH s AS (SELECT COALESCE((SELECT seq FROM inbox_stream WHERE stream = $2 AND scope = $3), 0) AS seq),
       added AS (
         INSERT INTO inbox_subscription (user_id, topic, scope, from_seq, read_seq)
         SELECT $1, $2, $3, s.seq, s.seq FROM s
         ON CONFLICT DO NOTHING
       )
       SELECT seq::text FROM s`,
      [inbox.userId, topic, scopeColumn(inbox)],
    );
    return seq;
  }

  async unsubscribe(inbox: Inbox, topic: string): Promise<void> {
    await this.runner.query(`DELETE FROM inbox_subscription WHERE user_id = $1 AND topic = $2 AND scope = $3`, [
      inbox.userId,
      topic,
      scopeColumn(inbox),
    ]);
  }

  /**
   * Per inbox, by inboxKey, in one query: the topics whose rooms its sockets join (subscribed,
   * not muted in the inbox): `topics`, the unscoped subscriptions (every scope's inbox shows
   * their publications), `scopedTopics`, those of the inbox's scope (none for the unscoped
   * inbox); and the types muted in it.
   */
  async roomsOfMany(inboxes: Inbox[]): Promise<Map<string, { topics: string[]; scopedTopics: string[]; mutedTypes: string[] }>> {
    const rows = await this.runner.query<{ ord: string; topics: string[]; scoped_topics: string[]; muted_types: string[] }>(
      `SELECT u.user_id, u.ord, COALESCE(us.muted_types, '{}') AS muted_types,
              ARRAY(SELECT s.topic FROM inbox_subscription s
                     WHERE s.user_id = u.user_id AND s.scope = '' AND NOT s.topic = ANY(COALESCE(us.muted_topics, '{}'))) AS topics,
              ARRAY(SELECT s.topic FROM inbox_subscription s
                     WHERE u.scope <> '' AND s.user_id = u.user_id AND s.scope = u.scope
                       AND NOT s.topic = ANY(COALESCE(us.muted_topics, '{}'))) AS scoped_topics
         FROM unnest($1::varchar[], $2::varchar[]) WITH ORDINALITY AS u(user_id, scope, ord)
         LEFT JOIN inbox_user_state us ON us.user_id = u.user_id AND us.scope = u.scope`,
      [inboxes.map((i) => i.userId), inboxes.map(scopeColumn)],
    );
    return new Map(
      rows.map((r) => [
        inboxKey(inboxes[Number(r.ord) - 1]),
        { topics: r.topics, scopedTopics: r.scoped_topics, mutedTypes: r.muted_types },
      ]),
    );
  }

  /**
   * The scopes (`null`: unscoped) in whose inbox `userId` muted `topic`: an unscoped subscription
   * reaches every socket of the user but those. Reads the user's state rows, one per scope.
   */
  async scopesMuting(userId: string, topic: string): Promise<(string | null)[]> {
    const rows = await this.runner.query<{ scope: string }>(
      `SELECT scope FROM inbox_user_state WHERE user_id = $1 AND $2 = ANY(muted_topics)`,
      [userId, topic],
    );
    return rows.map((r) => (r.scope === '' ? null : r.scope));
  }
}
