import { Injectable } from '@nestjs/common';
import { StatementRunner } from '../statement-runner';

/**
 * Adds counts to `inbox_delivery` (InboxDeliveryRecord migration) in one statement: only for
 * notifications still stored (one deleted since would leave a line nothing deletes), a new line
 * with the notification's type and kind (the rates group by them), in id
 * order, so that two instances adding to the same lines lock them in the same order and never
 * deadlock.
 */
const ADD_SQL = `INSERT INTO inbox_delivery AS d (notification_id, type, kind, live)
  SELECT u.id, n.type, CASE WHEN n.user_id IS NOT NULL THEN 'direct' WHEN n.topic IS NULL THEN 'broadcast' ELSE 'topic' END, u.live
    FROM unnest($1::bigint[], $2::bigint[]) AS u(id, live) JOIN inbox_notification n ON n.id = u.id
   ORDER BY u.id
  ON CONFLICT (notification_id) DO UPDATE SET live = d.live + excluded.live`;

/** The stored record of live deliveries (the `deliveryRecord` option, see DeliveryRecord). */
@Injectable()
export class DeliveryRepository {
  constructor(private readonly runner: StatementRunner) {}

  /** Adds `live[i]` deliveries to notification `ids[i]`, for each i (ids distinct). */
  async add(ids: string[], live: number[]): Promise<void> {
    await this.runner.query(ADD_SQL, [ids, live]);
  }
}
