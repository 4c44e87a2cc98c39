import { Injectable } from '@nestjs/common';
import { InjectNotificationsOptions } from '../notifications.decorators';
import type { ResolvedNotificationsOptions } from '../notifications.options';
import { toPayload } from '../persistence/notification-row';
import { NotificationStore } from '../persistence/notification.store';
import type { NotificationPayload } from '../protocol';

/** What a connecting socket is sent before `notifications:synced`. */
export interface CatchUp {
  /** Oldest first. */
  missed: NotificationPayload[];
  unread: number;
  /** More were missed than `catchUpLimit`: the client pages older ones with `list`. */
  truncated: boolean;
}

/**
 * The reads of a connection, in the order the gateway needs them: the user's topics (to join
 * their rooms before anything is read), then what the client missed since its cursor.
 */
@Injectable()
export class CatchUpService {
  constructor(
    @InjectNotificationsOptions() private readonly options: ResolvedNotificationsOptions,
    private readonly store: NotificationStore,
  ) {}

  topicsOf(userId: string): Promise<string[]> {
    return this.store.topicsOf(userId);
  }

  /**
   * Everything newer than `cursor` (gapless, see NotificationStore.catchUp), at most
   * `catchUpLimit`, less the older rows the client says it holds (`held`).
   */
  async since(userId: string, cursor: string | null, held: string[] = []): Promise<CatchUp> {
    const limit = this.options.catchUpLimit;
    const [rows, counts] = await Promise.all([
      this.store.catchUp(userId, cursor, limit + 1, this.options.catchUpGraceMs, held),
      this.store.unreadCounts([userId]),
    ]);
    return {
      missed: rows.slice(0, limit).reverse().map(toPayload),
      unread: counts.get(userId) ?? 0,
      truncated: rows.length > limit,
    };
  }
}
