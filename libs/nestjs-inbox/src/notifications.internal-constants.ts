import { inboxKey, type Inbox } from './persistence/inbox-model';

/*
 * Rooms (docs/scopes.md). Every socket joins its user's room (unscoped direct notifications and
 * state messages reach all of a user's sockets, whatever their scope) and its inbox's room (the
 * user's sockets of its scope: that scope's direct notifications, that inbox's badge); a scoped
 * socket also joins its scope's room (that scope's broadcasts). Scoped names hold the scope
 * with a separator neither user ids nor scopes may contain (NUL) or as JSON, so no two
 * (scope, name) pairs share a room.
 */

/** Room every socket of one user joins. */
export const userRoom = (userId: string) => `inbox:user:${userId}`;
/** Room of one inbox's sockets: the user's sockets of one scope, or the unscoped ones. */
export const inboxRoom = (inbox: Inbox) => `inbox:inbox:${inboxKey(inbox)}`;
/** Room every socket of a scope joins: that scope's broadcasts. */
export const scopeRoom = (scope: string) => `inbox:scope:${scope}`;
/**
 * Room of a topic's publications in a scope (`null`: the unscoped ones). The sockets of a user
 * subscribed to the topic unscoped join the unscoped room whatever their scope; those of a user
 * subscribed in scope S join S's room, and only from S.
 */
export const topicRoom = (topic: string, scope: string | null = null) =>
  scope === null ? `inbox:topic:${topic}` : `inbox:scoped-topic:${JSON.stringify([scope, topic])}`;
/** Room every socket of the inboxes that muted a type joins: deliveries of that type skip it. */
export const mutedTypeRoom = (type: string) => `inbox:muted:${type}`;
/**
 * The rooms a socket of an inbox of `scope` joins besides its own: the topics it gets live
 * (subscribed, not muted in the inbox: `topics` unscoped, `scopedTopics` in the inbox's scope;
 * see topicRoom) and its muted types.
 */
export const memberRooms = (r: { topics: string[]; scopedTopics?: string[]; mutedTypes: string[] }, scope: string | null) => [
  ...r.topics.map((topic) => topicRoom(topic)),
  ...(scope === null ? [] : (r.scopedTopics ?? []).map((topic) => topicRoom(topic, scope))),
  ...r.mutedTypes.map(mutedTypeRoom),
];
/** Whether `room` is one memberRooms makes (left when no longer wanted). */
export const isMemberRoom = (room: string) =>
  room.startsWith(topicRoom('')) || room.startsWith('inbox:scoped-topic:') || room.startsWith(mutedTypeRoom(''));
/** The rooms a socket of `inbox` joins whatever its subscriptions and preferences. */
export const ownRooms = (inbox: Inbox) => [
  userRoom(inbox.userId),
  inboxRoom(inbox),
  ...(inbox.scope === null ? [] : [scopeRoom(inbox.scope)]),
];

/** The host's DataSource the library stores in (an alias of its TypeORM token). */
export const INBOX_DATA_SOURCE = 'NESTJS_INBOX_DATA_SOURCE';

/** Whether this registration runs the gateway (the `gateway` extra), for the providers that differ. */
export const NOTIFICATIONS_GATEWAY = 'NESTJS_INBOX_GATEWAY';
