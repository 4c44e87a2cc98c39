import { Injectable, Logger } from '@nestjs/common';
import { topicRoom, userRoom } from '../notifications.internal-constants';
import { ClusterEvent, ClusterEvents, TopicChange } from './cluster/cluster-events';
import { InboxNamespace } from './inbox-namespace';

/** Longest wait for every instance to confirm (the adapter never answers if Redis fails meanwhile). */
const TOPIC_ACK_MS = 5000;

/** Moves a user's open sockets into or out of a topic's room, on every instance. */
@Injectable()
export class TopicRooms {
  private readonly logger = new Logger('NotificationsModule');

  constructor(
    private readonly namespace: InboxNamespace,
    private readonly events: ClusterEvents,
  ) {
    events.on(ClusterEvent.Topic, (change) => this.changeHere(change));
  }

  join(userId: string, topic: string): Promise<void> {
    return this.change({ userId, topic, join: true });
  }

  leave(userId: string, topic: string): Promise<void> {
    return this.change({ userId, topic, join: false });
  }

  /**
   * Resolves once every instance has moved the user's sockets, so a publish from any instance
   * right after `subscribe()` returns reaches them (Socket.IO's own socketsJoin does not wait
   * for the other instances).
   */
  private async change(change: TopicChange): Promise<void> {
    if (!this.namespace.current) return;
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

  private changeHere({ userId, topic, join }: TopicChange): void {
    const sockets = this.namespace.current?.local.in(userRoom(userId));
    if (join) sockets?.socketsJoin(topicRoom(topic));
    else sockets?.socketsLeave(topicRoom(topic));
  }
}
