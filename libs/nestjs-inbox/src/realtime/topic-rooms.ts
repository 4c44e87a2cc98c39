import { Injectable, Logger } from '@nestjs/common';
import { mutedTypeRoom, topicRoom, userRoom } from '../notifications.internal-constants';
import { ClusterEvent, ClusterEvents, RoomChange } from './cluster/cluster-events';
import { InboxNamespace } from './inbox-namespace';

/** Longest wait for every instance to confirm (the adapter never answers if Redis fails meanwhile). */
const TOPIC_ACK_MS = 5000;

/**
 * Moves a user's open sockets into or out of rooms on every instance: a topic's (subscribed and
 * not muted), a muted type's (see RoomEmitter).
 */
@Injectable()
export class TopicRooms {
  private readonly logger = new Logger('NotificationsModule');

  constructor(
    private readonly namespace: InboxNamespace,
    private readonly events: ClusterEvents,
  ) {
    events.on(ClusterEvent.Topic, (change) => this.changeHere(change));
  }

  /** `_scope`: the subscription's scope (`null`: unscoped), for the scopes' topic rooms (docs/scopes.md). */
  join(userId: string, topic: string, _scope: string | null = null): Promise<void> {
    return this.change({ userId, join: [topicRoom(topic)], leave: [] });
  }

  leave(userId: string, topic: string, _scope: string | null = null): Promise<void> {
    return this.change({ userId, join: [], leave: [topicRoom(topic)] });
  }

  /** After a preferences change: muted types' rooms joined or left, muted topics' rooms left or (subscribed) joined again. */
  mute(
    userId: string,
    m: { types: { muted: string[]; unmuted: string[] }; topics: { muted: string[]; unmuted: string[] } },
    _scope: string | null = null,
  ): Promise<void> {
    return this.change({
      userId,
      join: [...m.types.muted.map(mutedTypeRoom), ...m.topics.unmuted.map(topicRoom)],
      leave: [...m.types.unmuted.map(mutedTypeRoom), ...m.topics.muted.map(topicRoom)],
    });
  }

  /**
   * Resolves once every instance has moved the user's sockets, so a publish from any instance
   * right after `subscribe()` returns reaches them (Socket.IO's own socketsJoin does not wait
   * for the other instances).
   */
  private async change(change: RoomChange): Promise<void> {
    if (!this.namespace.current || change.join.length + change.leave.length === 0) return;
    this.changeHere(change);
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.events.emitWithAck(ClusterEvent.Topic, change),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${TOPIC_ACK_MS} ms`)), TOPIC_ACK_MS);
        }),
      ]);
    } catch (err) {
      this.logger.warn(`topic rooms not confirmed by every instance: ${(err as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
  }

  private changeHere({ userId, join, leave }: RoomChange): void {
    const sockets = this.namespace.current?.local.in(userRoom(userId));
    if (join.length > 0) sockets?.socketsJoin(join);
    if (leave.length > 0) sockets?.socketsLeave(leave);
  }
}
