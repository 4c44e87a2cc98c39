import { Injectable, Logger } from '@nestjs/common';
import { inboxRoom, mutedTypeRoom, topicRoom, userRoom } from '../notifications.internal-constants';
import type { Inbox } from '../persistence/inbox-model';
import { ClusterEvent, ClusterEvents, RoomChange } from './cluster/cluster-events';
import { InboxNamespace } from './inbox-namespace';

/** Longest wait for every instance to confirm (the adapter never answers if Redis fails meanwhile). */
const TOPIC_ACK_MS = 5000;

/**
 * Moves a user's open sockets into or out of rooms on every instance: a topic's (subscribed and
 * not muted), a muted type's (see RoomEmitter). A subscription in scope S moves the user's
 * sockets of S only; an unscoped one moves every socket of the user, whatever its scope, except
 * in the scopes where the topic is muted (preferences are per inbox). Preferences move the
 * sockets of their inbox only.
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

  /**
   * `inbox` subscribed to `topic`: the sockets of its scope join, or unscoped (`inbox.scope`
   * null) every socket of the user; but not those of the scopes in `mutedIn` (where the user
   * muted the topic; `null`: the unscoped inbox).
   */
  join(inbox: Inbox, topic: string, mutedIn: (string | null)[] = []): Promise<void> {
    const room = topicRoom(topic, inbox.scope);
    if (inbox.scope !== null) {
      if (mutedIn.includes(inbox.scope)) return Promise.resolve();
      return this.change({ userId: inbox.userId, scope: inbox.scope, join: [room], leave: [] });
    }
    return this.change({ userId: inbox.userId, skip: mutedIn, join: [room], leave: [] });
  }

  /** `inbox` unsubscribed from `topic` (unscoped: every socket of the user leaves). */
  leave(inbox: Inbox, topic: string): Promise<void> {
    const room = topicRoom(topic, inbox.scope);
    return this.change({ userId: inbox.userId, ...(inbox.scope === null ? {} : { scope: inbox.scope }), join: [], leave: [room] });
  }

  /**
   * After a preferences change of `inbox`, its sockets: muted types' rooms joined or left, muted
   * topics' rooms left (the unscoped subscription's and the inbox scope's), unmuted ones joined
   * again for the subscriptions the inbox has (`topics.unmuted`, each with its subscription's scope).
   */
  mute(
    inbox: Inbox,
    m: {
      types: { muted: string[]; unmuted: string[] };
      topics: { muted: string[]; unmuted: { topic: string; scope: string | null }[] };
    },
  ): Promise<void> {
    const mutedTopics = m.topics.muted.flatMap((t) => (inbox.scope === null ? [topicRoom(t)] : [topicRoom(t), topicRoom(t, inbox.scope)]));
    return this.change({
      userId: inbox.userId,
      scope: inbox.scope,
      join: [...m.types.muted.map(mutedTypeRoom), ...m.topics.unmuted.map(({ topic, scope }) => topicRoom(topic, scope))],
      leave: [...m.types.unmuted.map(mutedTypeRoom), ...mutedTopics],
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

  private changeHere({ userId, scope, skip, join, leave }: RoomChange): void {
    const nsp = this.namespace.current;
    if (!nsp) return;
    if (scope !== undefined || !skip?.length) {
      const sockets = nsp.local.in(scope === undefined ? userRoom(userId) : inboxRoom({ userId, scope }));
      if (join.length > 0) sockets.socketsJoin(join);
      if (leave.length > 0) sockets.socketsLeave(leave);
      return;
    }
    const skipped = new Set(skip);
    for (const id of nsp.adapter.rooms.get(userRoom(userId)) ?? []) {
      const socket = nsp.sockets.get(id);
      if (!socket || skipped.has(socket.data.scope ?? null)) continue;
      if (join.length > 0) socket.join(join);
      for (const room of leave) socket.leave(room);
    }
  }
}
