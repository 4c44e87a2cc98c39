import { Injectable } from '@nestjs/common';
import type { Socket } from 'socket.io';
import { addAnyListener } from '../compat/socket-io.compat';
import { inboxRoom } from '../notifications.internal-constants';
import { inboxKey } from '../persistence/inbox-model';
import type { Badge } from '../persistence/repositories/inbox-read.repository';
import { ServerEvent, type UnreadPayload } from '../protocol';
import { inboxOf } from './socket-inbox';

/**
 * The badge (unread and unseen counts) each inbox's sockets on this instance were last sent (by
 * inboxKey: a user's badge is per scope),
 * whoever sent it (a recount here, a change on another instance through Redis, the connect's
 * `synced`): recorded from the sockets' outgoing packets. UnreadRecounter adds a broadcast or a
 * publication to it at once instead of waiting for the recount, and a recount that finds the
 * badge shown sends nothing (see there).
 *
 * What is recorded is what every socket of the inbox here shows: `synced` reaches one socket, so
 * where it disagrees with the others the inbox's badge is unknown until a recount sends one to
 * all (`onDisagreement`).
 */
@Injectable()
export class ShownCounts {
  private readonly badges = new Map<string, Badge>();
  /** How many times an inbox's badge was raised here: a recount read before a raise must not undo it. */
  private readonly raises = new Map<string, number>();
  /** A listener shared by every socket (Socket.IO calls it with the socket as `this`): an idle connection holds no closure here. */
  private readonly onOutgoing: (
    this: Socket,
    event: string,
    payload: { count?: number; unread?: number; unseen?: number },
    badge?: UnreadPayload,
  ) => void;
  /** Called with an inboxKey whose sockets here were sent different badges (set by UnreadRecounter: it recounts them). */
  onDisagreement: (key: string) => void = () => undefined;

  constructor() {
    const { badges } = this;
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- a listener shared by every socket: its own `this` is the socket
    const shown = this;
    this.onOutgoing = function (event, payload, inline) {
      // A `notification` carries its inbox's badge as a second argument to the sockets that asked for it (InlineBadges).
      const counts =
        event === ServerEvent.Notification ? inline : event === ServerEvent.Unread || event === ServerEvent.Synced ? payload : undefined;
      const unread = event === ServerEvent.Synced ? payload?.unread : counts?.count;
      if (typeof unread !== 'number' || typeof counts?.unseen !== 'number') return;
      const inbox = inboxOf(this);
      const key = inboxKey(inbox);
      const badge = { unread, unseen: counts.unseen };
      // Whether other sockets share the inbox matters to `synced` only: looked up for it alone (not per notification).
      if (
        event === ServerEvent.Synced &&
        (this.nsp.adapter.rooms.get(inboxRoom(inbox))?.size ?? 0) > 1 &&
        !sameBadge(badges.get(key), badge)
      ) {
        badges.delete(key);
        shown.onDisagreement(key);
        return;
      }
      badges.set(key, badge);
    };
  }

  track(socket: Socket): void {
    addAnyListener(socket, 'outgoing', this.onOutgoing);
  }

  /** A socket disconnected (a job of the namespace's shared `disconnect` listener): its inbox's badge is forgotten with its last socket here. */
  disconnected(socket: Socket): void {
    const inbox = inboxOf(socket);
    if (!socket.nsp.adapter.rooms.has(inboxRoom(inbox))) {
      const key = inboxKey(inbox);
      this.badges.delete(key);
      this.raises.delete(key);
    }
  }

  /** The badge to send the sockets of inbox `key` now that `added` new notifications reached them, if their badge is known. */
  raise(key: string, added: number): Badge | undefined {
    const shown = this.badges.get(key);
    if (shown === undefined) return undefined;
    this.raises.set(key, (this.raises.get(key) ?? 0) + 1);
    return { unread: shown.unread + added, unseen: shown.unseen + added };
  }

  /** Whether the badge of inbox `key`'s sockets here is known (every one of them was last sent the same). */
  known(key: string): boolean {
    return this.badges.has(key);
  }

  /** The badge of inbox `key` is no longer known (a recount failed: a change it was to send may be missing). */
  forget(key: string): void {
    this.badges.delete(key);
  }

  /** Whether every socket of inbox `key` here was last sent `badge`. */
  shows(key: string, badge: Badge): boolean {
    return sameBadge(this.badges.get(key), badge);
  }

  /** Changes with every `raise`: a recount compares it before and after its query. */
  version(key: string): number {
    return this.raises.get(key) ?? 0;
  }
}

function sameBadge(a: Badge | undefined, b: Badge): boolean {
  return a !== undefined && a.unread === b.unread && a.unseen === b.unseen;
}
