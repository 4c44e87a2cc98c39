/** `nestjs-inbox/client`: the browser client. Imports nothing from Nest or Node. */
export { InboxClient, createInbox } from './inbox-client';
export type { ConnectionState, InboxEvents, InboxOptions } from './inbox-client';
export { InboxError } from './inbox.errors';
export type { InboxErrorCode } from './inbox.errors';
export type { CursorStorage } from './cursor-storage';
export { compareIds } from './notification-list';
export { ServerEvent, ClientEvent, DEFAULT_NAMESPACE, NOTIFICATION_ID_PATTERN, MAX_HELD_IDS } from '../protocol';
export type { NotificationPayload, ListPage, ReadPayload, SyncedPayload, ErrorCode } from '../protocol';
