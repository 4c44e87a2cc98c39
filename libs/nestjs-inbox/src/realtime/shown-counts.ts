import { Injectable } from '@nestjs/common';
import type { Socket } from 'socket.io';
import { userRoom } from '../notifications.internal-constants';
import { ServerEvent } from '../protocol';

/**
 * The unread count each user's sockets on this instance were last sent, whoever sent it (a
 * recount here, a read on another instance through Redis, the connect's `synced`): recorded from
 * the sockets' outgoing packets. UnreadRecounter adds a broadcast or a publication to it at once
 * instead of waiting for the recount (see there).
 */
@Injectable()
export class ShownCounts {
  private readonly counts = new Map<string, number>();
  /** How many times a user's count was raised here: a recount read before a raise must not undo it. */
  private readonly raises = new Map<string, number>();
  /** One listener shared by every socket (Socket.IO calls it with the socket as `this`). */
  private readonly listener: (this: Socket, event: string, payload: { count?: number; unread?: number }) => void;

  constructor() {
    const counts = this.counts;
    this.listener = function (event, payload) {
      if (event === ServerEvent.Unread && typeof payload?.count === 'number') counts.set(this.data.userId, payload.count);
      else if (event === ServerEvent.Synced && typeof payload?.unread === 'number') counts.set(this.data.userId, payload.unread);
    };
  }

  track(socket: Socket): void {
    socket.onAnyOutgoing(this.listener);
    socket.once('disconnect', () => {
      const userId: string = socket.data.userId;
      if (!socket.nsp.adapter.rooms.has(userRoom(userId))) {
        this.counts.delete(userId);
        this.raises.delete(userId);
      }
    });
  }

  /** The count to send `userId`'s sockets now that `added` new notifications reached them, if their count is known. */
  raise(userId: string, added: number): number | undefined {
    const shown = this.counts.get(userId);
    if (shown === undefined) return undefined;
    this.raises.set(userId, (this.raises.get(userId) ?? 0) + 1);
    return shown + added;
  }

  /** Changes with every `raise`: a recount compares it before and after its query. */
  version(userId: string): number {
    return this.raises.get(userId) ?? 0;
  }
}
