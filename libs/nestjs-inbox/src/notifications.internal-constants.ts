/** Room every socket of one user joins. */
export const userRoom = (userId: string) => `inbox:user:${userId}`;
/** Room every socket subscribed to a topic joins. */
export const topicRoom = (topic: string) => `inbox:topic:${topic}`;
/** Room every socket of the users who muted a type joins: deliveries of that type skip it. */
export const mutedTypeRoom = (type: string) => `inbox:muted:${type}`;
/** The rooms a user's sockets belong in besides their own: unmuted subscribed topics, muted types. */
export const memberRooms = (r: { topics: string[]; mutedTypes: string[] }) => [
  ...r.topics.map(topicRoom),
  ...r.mutedTypes.map(mutedTypeRoom),
];
/** Whether `room` is one memberRooms makes (left when no longer wanted). */
export const isMemberRoom = (room: string) => room.startsWith(topicRoom('')) || room.startsWith(mutedTypeRoom(''));

/** The host's DataSource the library stores in (an alias of its TypeORM token). */
export const INBOX_DATA_SOURCE = 'NESTJS_INBOX_DATA_SOURCE';

/** Whether this registration runs the gateway (the `gateway` extra), for the providers that differ. */
export const NOTIFICATIONS_GATEWAY = 'NESTJS_INBOX_GATEWAY';
