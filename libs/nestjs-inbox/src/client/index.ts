/** `nestjs-inbox/client`: the browser client. Imports nothing from Nest or Node. */
export { InboxClient, createInbox } from './inbox-client';
export type { InboxOptions, InboxSelection } from './inbox-client';
export type { ConnectionState, InboxEvents, TransportState } from './inbox-events';
export { InboxError } from './inbox.errors';
export type { InboxErrorCode } from './inbox.errors';
export type { CursorStorage } from './cursor-storage';
export { compareIds, matchesFilter, supersede } from './notification-list';
export {
  ServerEvent,
  ClientEvent,
  DEFAULT_NAMESPACE,
  NOTIFICATION_ID_PATTERN,
  MAX_HELD_IDS,
  MAX_TAGS,
  MAX_ACTIONS,
  MAX_VIEWS,
  FILTER_STATES,
  MAX_SCOPE_LENGTH,
  appliesTo,
} from '../protocol';
export type {
  NotificationPayload,
  NotificationGroup,
  ListPage,
  ListQuery,
  ReadPayload,
  SyncedPayload,
  ErrorCode,
  Action,
  Actor,
  Filter,
  FilterState,
  Selection,
  StateChange,
  StatePayload,
  StateResult,
  Preferences,
  PreferencesAnswer,
  PreferencesUpdate,
  HandshakeAuth,
} from '../protocol';
