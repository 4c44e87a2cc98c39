/** Room every socket of one user joins. */
export const userRoom = (userId: string) => `inbox:user:${userId}`;
/** Room every socket subscribed to a topic joins. */
export const topicRoom = (topic: string) => `inbox:topic:${topic}`;

/** The host's DataSource the library stores in (an alias of its TypeORM token). */
export const INBOX_DATA_SOURCE = 'NESTJS_INBOX_DATA_SOURCE';

/** Whether this registration runs the gateway (the `gateway` extra), for the providers that differ. */
export const NOTIFICATIONS_GATEWAY = 'NESTJS_INBOX_GATEWAY';
