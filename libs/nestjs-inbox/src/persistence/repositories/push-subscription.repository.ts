import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { StatementRunner } from '../statement-runner';

/** A browser's Web Push subscription, as `PushSubscription.toJSON()` gives it. */
export interface PushSubscriptionRow {
  endpoint: string;
  p256dh: string;
  auth: string;
}

/** Web Push subscriptions, per user and endpoint (one per browser or device). */
@Injectable()
export class PushSubscriptionRepository {
  constructor(private readonly runner: StatementRunner) {}

  /**
   * Stores (or renews) a subscription; returns false, storing nothing, when the user has `max`
   * others already.
   */
  async subscribe(userId: string, sub: PushSubscriptionRow & { expiresAt: Date | null }, max: number): Promise<boolean> {
    const rows = await this.runner.query<{ ok: boolean }>(
      `WITH others AS (SELECT count(*) AS n FROM inbox_push_subscription WHERE user_id = $1 AND endpoint <> $2)
       INSERT INTO inbox_push_subscription AS s (user_id, endpoint, p256dh, auth, expires_at)
       SELECT $1, $2, $3, $4, $5 FROM others WHERE others.n < $6
       ON CONFLICT (user_id, endpoint) DO UPDATE SET p256dh = EXCLUDED.p256dh, auth = EXCLUDED.auth, expires_at = EXCLUDED.expires_at
       RETURNING true AS ok`,
      [userId, sub.endpoint, sub.p256dh, sub.auth, sub.expiresAt, max],
    );
    return rows.length > 0;
  }

  async unsubscribe(userId: string, endpoint: string): Promise<void> {
    await this.runner.query(`DELETE FROM inbox_push_subscription WHERE user_id = $1 AND endpoint = $2`, [userId, endpoint]);
  }

  /** The user's subscriptions that have not expired. */
  ofUser(userId: string, tx?: EntityManager): Promise<PushSubscriptionRow[]> {
    return this.runner.query<PushSubscriptionRow>(
      `SELECT endpoint, p256dh, auth FROM inbox_push_subscription
        WHERE user_id = $1 AND (expires_at IS NULL OR expires_at > now()) ORDER BY created_at`,
      [userId],
      { tx },
    );
  }
}
