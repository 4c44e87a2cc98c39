import { Injectable } from '@nestjs/common';
import { NotificationsError } from '../notifications.errors';
import { userRoom } from '../notifications.internal-constants';
import { ClusterEvents } from './cluster/cluster-events';
import { DeferredDisconnects } from './cluster/deferred-disconnects';
import { InboxNamespace } from './inbox-namespace';

/** A user's open sockets across instances: are there any, and closing them all. */
@Injectable()
export class UserSockets {
  constructor(
    private readonly namespace: InboxNamespace,
    private readonly events: ClusterEvents,
    private readonly deferred: DeferredDisconnects,
  ) {}

  async isOnline(userId: string): Promise<boolean> {
    const nsp = this.namespace.require('isOnline');
    if (nsp.adapter.rooms.has(userRoom(userId))) return true;
    if (!this.events.clustered) return false;
    try {
      return (await nsp.in(userRoom(userId)).fetchSockets()).length > 0;
    } catch (err) {
      throw new NotificationsError('UNAVAILABLE', `isOnline: the other instances cannot be asked (${(err as Error).message})`);
    }
  }

  /** Closes the user's sockets here at once, elsewhere through Redis (later, if it is away). */
  disconnect(userId: string): void {
    this.namespace.require('disconnectUser').in(userRoom(userId)).disconnectSockets(true);
    this.deferred.keepIfUnsent(userId);
  }
}
