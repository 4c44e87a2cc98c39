import { Injectable, Logger } from '@nestjs/common';
import type { Socket } from 'socket.io';
import { inboxRoom } from '../notifications.internal-constants';
import { inboxKey, type Inbox, type View } from '../persistence/inbox-model';
import { InboxReadRepository } from '../persistence/repositories/inbox-read.repository';
import { ServerEvent } from '../protocol';
import { InboxNamespace } from './inbox-namespace';
import { inboxOf } from './socket-inbox';
import { countsByName } from '../validation/views';

/** The views a socket asked to have counted (`notifications:counts`), and the counts it was last sent. */
interface Watched {
  names: string[];
  views: View[];
  /** Sockets watching the same views are counted in one statement. */
  key: string;
  sent: string;
}

type WatchingSocket = Socket & { data: { userId: string; scope: string | null; watched?: Watched; watches?: number } };

/** The inbox a socket works in: its views count there. */

/**
 * The counts of named views each socket watches, pushed as `notifications:counts` whenever one
 * changes: UnreadRecounter calls `refresh` for the inboxes whose counts it recounts, here. A
 * socket's views are of its inbox (its user in its scope).
 */
@Injectable()
export class ViewCounts {
  private readonly logger = new Logger('NotificationsModule');

  constructor(
    private readonly namespace: InboxNamespace,
    private readonly reads: InboxReadRepository,
  ) {}

  /**
   * From now on `socket` watches these views (instead of any before); returns their counts.
   * Requests of one socket are numbered as they arrive: when an older one's count is read after
   * a newer one's (two requests in flight), its answer still goes back, but it does not replace
   * what the newer one set up — the socket watches what it asked for last.
   */
  async watch(socket: WatchingSocket, named: Record<string, View>): Promise<Record<string, number>> {
    const request = (socket.data.watches = (socket.data.watches ?? 0) + 1);
    const names = Object.keys(named);
    const views = names.map((name) => named[name]);
    const counts = countsByName(names, await this.reads.counts(inboxOf(socket), views));
    if (socket.data.watches !== request) return counts;
    socket.data.watched = names.length > 0 ? { names, views, key: JSON.stringify(views), sent: JSON.stringify(counts) } : undefined;
    return counts;
  }

  /** Recounts the watched views of these inboxes' sockets here, and sends the ones that changed. */
  async refresh(inboxes: Inbox[]): Promise<void> {
    const nsp = this.namespace.current;
    if (!nsp) return;
    const groups = new Map<string, { views: View[]; sockets: WatchingSocket[] }>();
    for (const inbox of inboxes) {
      for (const id of nsp.adapter.rooms.get(inboxRoom(inbox)) ?? []) {
        const socket = nsp.sockets.get(id) as WatchingSocket | undefined;
        const watched = socket?.data.watched;
        if (!socket || !watched) continue;
        const group = groups.get(watched.key) ?? { views: watched.views, sockets: [] as WatchingSocket[] };
        group.sockets.push(socket);
        groups.set(watched.key, group);
      }
    }
    for (const [key, { views, sockets }] of groups) {
      try {
        const keys = new Map(sockets.map((s) => [inboxKey(inboxOf(s)), inboxOf(s)]));
        const counts = await this.reads.countsOfMany([...keys.values()], views);
        for (const socket of sockets) {
          const watched = socket.data.watched;
          const mine = counts.get(inboxKey(inboxOf(socket)));
          // Watching other views since: their own `watch` answered with those.
          if (!watched || !mine || watched.key !== key) continue;
          const record = countsByName(watched.names, mine);
          const sent = JSON.stringify(record);
          if (sent === watched.sent) continue;
          watched.sent = sent;
          socket.emit(ServerEvent.Counts, { counts: record });
        }
      } catch (err) {
        this.logger.warn(`view counts not refreshed: ${(err as Error).message}`);
      }
    }
  }
}
