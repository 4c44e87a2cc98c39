import { Injectable } from '@nestjs/common';
import type { Socket } from 'socket.io';
import { userRoom } from '../notifications.internal-constants';
import type { Badge } from '../persistence/notification.store';
import { ServerEvent } from '../protocol';

/**
 * The badge (unread and unseen counts) each user's sockets on this instance were last sent,
 * whoever sent it (a recount here, a change on another instance through Redis, the connect's
 * `synced`): recorded from the sockets' outgoing packets. UnreadRecounter adds a broadcast or a
 * publication to it at once instead of waiting for the recount (see there).
 */
@Injectable()
export class ShownCounts {
  private readonly badges = new Map<string, Badge>();
  /** How many times a user's badge was raised here: a recount read before a raise must not undo it. */
  private readonly raises = new Map<string, number>();
  /** One listener shared by every socket (Socket.IO calls it with the socket as `this`). */
  private readonly listener: (this: Socket, event: string, payload: { count?: number; unread?: number; unseen?: number }) => void;

  constructor() {
    const badges = this.badges;
    this.listener = function (event, payload) {
      const unread = event === ServerEvent.Unread ? payload?.count : event === ServerEvent.Synced ? payload?.unread : undefined;
      if (typeof unread === 'number' && typeof payload?.unseen === 'number') {
        badges.set(this.data.userId, { unread, unseen: payload.unseen });
      }
    };
  }

  track(socket: Socket): void {
    socket.onAnyOutgoing(this.listener);
    socket.once('disconnect', () => {
      const userId: string = socket.data.userId;
      if (!socket.nsp.adapter.rooms.has(userRoom(userId))) {
        this.badges.delete(userId);
        this.raises.delete(userId);
      }
    });
  }

  /** The badge to send `userId`'s sockets now that `added` new notifications reached them, if their badge is known. */
  raise(userId: string, added: number): Badge | undefined {
    const shown = this.badges.get(userId);
    if (shown === undefined) return undefined;
    this.raises.set(userId, (this.raises.get(userId) ?? 0) + 1);
    return { unread: shown.unread + added, unseen: shown.unseen + added };
  }

  /** Changes with every `raise`: a recount compares it before and after its query. */
  version(userId: string): number {
    return this.raises.get(userId) ?? 0;
  }
}
