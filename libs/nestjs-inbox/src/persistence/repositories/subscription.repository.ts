import { Injectable } from '@nestjs/common';
import { StatementRunner } from '../statement-runner';

/** The topics a user is subscribed to, from which position of each stream. */
@Injectable()
export class SubscriptionRepository {
  constructor(private readonly runner: StatementRunner) {}

  /** Subscribes from the stream's current end on (rows still in flight included: they commit after it). */
  async subscribe(userId: string, topic: string): Promise<void> {
    await this.runner.query(
      `INSERT INTO inbox_subscription (user_id, topic, from_seq, read_seq)
       SELECT $1, $2, s.seq, s.seq FROM (SELECT COALESCE((SELECT seq FROM inbox_stream WHERE stream = $2), 0) AS seq) s
       ON CONFLICT DO NOTHING`,
      [userId, topic],
    );
  }

  async unsubscribe(userId: string, topic: string): Promise<void> {
    await this.runner.query(`DELETE FROM inbox_subscription WHERE user_id = $1 AND topic = $2`, [userId, topic]);
  }

  /**
   * Per user, in one query: the topics whose rooms their sockets join (subscribed, not muted)
   * and the types they muted.
   */
  async roomsOfMany(userIds: string[]): Promise<Map<string, { topics: string[]; mutedTypes: string[] }>> {
    const rows = await this.runner.query<{ user_id: string; topics: string[]; muted_types: string[] }>(
      `SELECT u.user_id, COALESCE(us.muted_types, '{}') AS muted_types,
              ARRAY(SELECT s.topic FROM inbox_subscription s
                     WHERE s.user_id = u.user_id AND NOT s.topic = ANY(COALESCE(us.muted_topics, '{}'))) AS topics
         FROM unnest($1::varchar[]) AS u(user_id) LEFT JOIN inbox_user_state us ON us.user_id = u.user_id`,
      [userIds],
    );
    return new Map(rows.map((r) => [r.user_id, { topics: r.topics, mutedTypes: r.muted_types }]));
  }
}
