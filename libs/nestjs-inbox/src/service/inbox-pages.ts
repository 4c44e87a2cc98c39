import { Injectable } from '@nestjs/common';
import { InjectNotificationsOptions } from '../notifications.decorators';
import type { ResolvedNotificationsOptions } from '../notifications.options';
import { toPayload } from '../persistence/notification-row';
import { InboxReadRepository } from '../persistence/repositories/inbox-read.repository';
import type { Filter, ListPage, ListQuery } from '../protocol';
import { countsByName, parseListQuery, parseViews } from '../validation/views';
import { checkedInbox, checkedUserId, type ScopeOption } from './notification-input';

/**
 * What the host reads of an inbox: its pages and its views' counts, each input checked (an
 * InvalidInputError naming the field). `NotificationService` documents the API.
 */
@Injectable()
export class InboxPages {
  constructor(
    @InjectNotificationsOptions() private readonly options: ResolvedNotificationsOptions,
    private readonly reads: InboxReadRepository,
  ) {}

  async list(userId: string, query: ListQuery & ScopeOption): Promise<ListPage> {
    const u = checkedUserId(userId);
    const { scope, ...rest } = typeof query === 'object' && query !== null ? query : { scope: undefined };
    const inbox = checkedInbox(u, { scope }, 'list');
    const { view, limit } = parseListQuery(typeof query === 'object' && query !== null ? rest : query, this.options.listLimit);
    const rows = await this.reads.list(inbox, view, limit);
    return {
      items: rows.map(toPayload),
      nextCursor: rows.length === limit ? rows[rows.length - 1].id : null,
    };
  }

  async counts(userId: string, views: Record<string, Filter>, opts?: ScopeOption): Promise<Record<string, number>> {
    const inbox = checkedInbox(checkedUserId(userId), opts, 'counts');
    const named = parseViews(views, 'counts: views');
    const names = Object.keys(named);
    return countsByName(
      names,
      await this.reads.counts(
        inbox,
        names.map((name) => named[name]),
      ),
    );
  }
}
