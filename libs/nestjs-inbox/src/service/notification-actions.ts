import { Injectable } from '@nestjs/common';
import { InjectNotificationsOptions } from '../notifications.decorators';
import { InvalidInputError } from '../notifications.errors';
import type { ResolvedNotificationsOptions } from '../notifications.options';
import { EngagementEvents, type EngagementAction } from '../observability/engagement-events';
import { InboxReadRepository } from '../persistence/repositories/inbox-read.repository';
import { ClientEvent } from '../protocol';
import type { ScopeOption } from './notification-input';
import * as schema from '../validation/schemas';
import { parseListQuery } from '../validation/views';
import { checkedInbox, checkedUserId } from './notification-input';

/**
 * A user activated an action of a notification (`NotificationService.action`, the socket event
 * `notifications:action`): checked against the notification as stored (the user's inbox shows
 * it, archived or not, and it has that action), then an `action` engagement event carrying the
 * stored action, so a host acting on it trusts no label or event name from the browser.
 */
@Injectable()
export class NotificationActions {
  constructor(
    @InjectNotificationsOptions() private readonly options: ResolvedNotificationsOptions,
    private readonly reads: InboxReadRepository,
    private readonly engagement: EngagementEvents,
  ) {}

  /** The socket event's `{ id, action }`, its fields checked by name. */
  async fromSocket(userId: string, body: unknown, opts: ScopeOption): Promise<{ ok: true }> {
    const { id, action } = schema.parse(schema.actionPayload, body, ClientEvent.Action);
    await this.act(userId, id, action, opts, ClientEvent.Action);
    return { ok: true };
  }

  async act(userId: string, id: string, action: number, opts: ScopeOption | undefined, what: string): Promise<EngagementAction> {
    const inbox = checkedInbox(checkedUserId(userId), opts, what);
    const payload = schema.parse(schema.actionPayload, { id, action }, what);
    // The one row, by primary key, through the inbox's own view: visibility, scope and deletion as `list` sees them.
    const n = BigInt(payload.id);
    const filter = { state: 'all' as const, before: String(n + 1n), ...(n > 1n ? { after: String(n - 1n) } : {}) };
    const [row] = await this.reads.list(inbox, parseListQuery({ filter, limit: 1 }, this.options.listLimit).view, 1);
    if (!row) throw new InvalidInputError(`${what}: id: no notification ${payload.id} in this inbox`);
    const stored = row.actions?.[payload.action];
    if (!stored) throw new InvalidInputError(`${what}: action: notification ${payload.id} has no action ${payload.action}`);
    const acted: EngagementAction = { index: payload.action, ...stored };
    this.engagement.acted(inbox.userId, payload.id, acted, inbox.scope);
    return acted;
  }
}
