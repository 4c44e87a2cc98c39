import { Logger, OnModuleDestroy } from '@nestjs/common';
import { OnGatewayInit, WebSocketGateway, WebSocketServer } from '@nestjs/websockets';
import type { Namespace, Socket } from 'socket.io';
import { assertBoundNamespace, bindGatewayNamespace, takeConnections } from '../compat/nest-websockets.compat';
import { addAnyListener } from '../compat/socket-io.compat';
import { assertEngine, recordUpgradeResponses, releaseHandshakeRequest } from '../compat/engine-io.compat';
import { InjectNotificationsOptions } from '../notifications.decorators';
import { InvalidInputError, NotificationsError } from '../notifications.errors';
import { ownRooms } from '../notifications.internal-constants';
import type { ResolvedNotificationsOptions } from '../notifications.options';
import { DeliveredEvents } from '../observability/delivered-events';
import { InboxTelemetry } from '../observability/inbox-telemetry';
import {
  CHANNELS,
  ClientEvent,
  DEFAULT_NAMESPACE,
  ServerEvent,
  type AckError,
  type Preferences,
  type PreferencesAnswer,
  type PreferencesUpdate,
  type Channel,
  type StateResult,
} from '../protocol';
import { eventLimiter } from '../security/event-limits';
import { secureNamespace } from '../security/secure-namespace';
import type { InboxSocketData } from '../session/handshake-auth';
import { InboxNamespace } from '../realtime/inbox-namespace';
import { inboxOf } from '../realtime/socket-inbox';
import { ViewCounts } from '../realtime/view-counts';
import { CatchUpService } from '../service/catch-up.service';
import { NotificationActions } from '../service/notification-actions';
import { NotificationService, type IdsOrFilter, type ScopeOption } from '../service/notification.service';
import { UserChannels } from '../service/user-channels';
import * as schema from '../validation/schemas';
import { parseViews } from '../validation/views';

type InboxSocket = Socket & { data: InboxSocketData };
type Listener = (this: InboxSocket, ...args: unknown[]) => void;

/**
 * The `/notifications` namespace. Authentication happens in the handshake middleware; every
 * handler acts on the socket's inbox only, `socket.data.userId` in `socket.data.scope` (both
 * set by the handshake), never on a user or scope the client sends.
 */
@WebSocketGateway({ namespace: DEFAULT_NAMESPACE })
export class NotificationsGateway implements OnGatewayInit, OnModuleDestroy {
  private readonly logger = new Logger('NotificationsModule');
  private stopSecurity?: () => void;

  /** The library's Socket.IO namespace (set by Nest), e.g. for the host's metrics. */
  @WebSocketServer()
  readonly server!: Namespace;

  /**
   * The client events, dispatched by one `onAny` listener shared by every socket (Socket.IO
   * calls it with the socket as `this`), rather than `@SubscribeMessage`: Nest builds an RxJS
   * pipeline per handler per socket, which tripled the heap of an idle connection (bench
   * scenario 5), and even 13 plain listeners would be 13 properties of every socket's `_events`.
   * The last argument, when a function, is the ack; an unknown event is ignored.
   */
  private readonly handlers = new Map<string, (socket: InboxSocket, body: unknown) => Promise<unknown>>([
    [ClientEvent.List, (socket, body) => this.list(socket, body)],
    [ClientEvent.Read, (socket, body) => this.read(socket, body)],
    [ClientEvent.ReadAll, (socket, body) => this.readAll(socket, body)],
    [ClientEvent.Subscribe, (socket, body) => this.subscribe(socket, body)],
    [ClientEvent.Unsubscribe, (socket, body) => this.unsubscribe(socket, body)],
    [
      ClientEvent.Seen,
      (socket, body) =>
        this.changeState(socket, body, ClientEvent.Seen, (userId, which, scope) => this.service.markSeen(userId, which, scope)),
    ],
    [
      ClientEvent.Archive,
      (socket, body) =>
        this.changeState(socket, body, ClientEvent.Archive, (userId, which, scope) => this.service.archive(userId, which, scope)),
    ],
    [
      ClientEvent.Unarchive,
      (socket, body) =>
        this.changeState(socket, body, ClientEvent.Unarchive, (userId, which, scope) => this.service.unarchive(userId, which, scope)),
    ],
    [
      ClientEvent.Delete,
      (socket, body) =>
        this.changeState(socket, body, ClientEvent.Delete, (userId, which, scope) => this.service.remove(userId, which, scope)),
    ],
    [ClientEvent.Snooze, (socket, body) => this.snooze(socket, body)],
    [
      ClientEvent.Action,
      (socket, body) => this.answer(() => this.actions.fromSocket(socket.data.userId, this.payload(body), scopeOf(socket))),
    ],
    [ClientEvent.Counts, (socket, body) => this.counts(socket, body)],
    [ClientEvent.PreferencesGet, (socket, body) => this.preferences(socket, body)],
    [ClientEvent.PreferencesSet, (socket, body) => this.setPreferences(socket, body)],
    [ClientEvent.PushKey, (_socket, body) => this.answer(() => this.userChannels.pushKey(this.payload(body)))],
    [
      ClientEvent.PushSubscribe,
      (socket, body) => this.answer(() => this.userChannels.pushSubscribe(socket.data.userId, this.payload(body))),
    ],
    [
      ClientEvent.PushUnsubscribe,
      (socket, body) => this.answer(() => this.userChannels.pushUnsubscribe(socket.data.userId, this.payload(body))),
    ],
  ]);

  private readonly dispatch: Listener = (() => {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- a listener shared by every socket: its own `this` is the socket
    const gateway = this;
    return function (this: InboxSocket, event: unknown, ...args: unknown[]) {
      const handle = typeof event === 'string' ? gateway.handlers.get(event) : undefined;
      if (!handle) return;
      const ack = typeof args[args.length - 1] === 'function' ? (args.pop() as (r: unknown) => void) : undefined;
      const refused = gateway.limits(this, args);
      if (refused) return ack ? ack({ error: refused }) : this.emit(ServerEvent.Error, refused);
      void handle(this, args[0]).then((response) => ack?.(response));
    };
  })();

  /** The channels this server sends on, for the preferences' answers. */
  private readonly availableChannels: Channel[];

  /** Rate and size limits, checked before any handler (see eventLimiter). */
  private readonly limits: ReturnType<typeof eventLimiter>;

  constructor(
    @InjectNotificationsOptions() private readonly options: ResolvedNotificationsOptions,
    private readonly service: NotificationService,
    private readonly catchUp: CatchUpService,
    private readonly namespace: InboxNamespace,
    private readonly viewCounts: ViewCounts,
    private readonly telemetry: InboxTelemetry,
    private readonly delivered: DeliveredEvents,
    private readonly actions: NotificationActions,
    private readonly userChannels: UserChannels,
  ) {
    this.limits = eventLimiter(options);
    this.availableChannels = CHANNELS.filter((channel) => options.channels?.[channel] !== undefined);
    // The namespace is an option, known only now; the module registers a subclass per
    // registration (gatewayClassFor), which is what `new.target` is.
    bindGatewayNamespace(new.target, options.namespace);
  }

  afterInit(nsp: Namespace): void {
    assertBoundNamespace(nsp, this.options.namespace);
    this.stopSecurity = secureNamespace(nsp, this.options);
    if (this.options.releaseHandshakeRequest) recordUpgradeResponses(assertEngine(nsp.server));
    this.namespace.bind(nsp);
    takeConnections(nsp, (socket) => void this.handleConnection(socket as InboxSocket));
  }

  onModuleDestroy(): void {
    this.stopSecurity?.();
  }

  /** A socket that passed the handshake: joins its inbox's rooms first, so nothing committed during the catch-up is missed. */
  async handleConnection(socket: InboxSocket): Promise<void> {
    addAnyListener(socket, 'incoming', this.dispatch);
    if (this.options.releaseHandshakeRequest) releaseHandshakeRequest(socket.conn);
    const { cursor, held } = socket.data;
    const inbox = inboxOf(socket);
    // What reaches the socket live once it is in its rooms, while the catch-up is read, is not
    // sent again by the catch-up (the client would only drop it as a duplicate).
    const sentLive = new Set<string>();
    const recordLive = (event: string, payload?: { id?: string }) => {
      if (event === ServerEvent.Notification && payload?.id) sentLive.add(payload.id);
    };
    addAnyListener(socket, 'outgoing', recordLive);
    try {
      await this.telemetry.catchUp(cursor !== null, async () => {
        // The user's and inbox's rooms first: a subscribe() made while the topics are read still finds this socket.
        socket.join(ownRooms(inbox));
        socket.join(await this.catchUp.roomsOf(inbox));
        const { missed, unread, unseen, truncated, cursor: resume } = await this.catchUp.since(inbox, cursor, held);
        socket.offAnyOutgoing(recordLive);
        for (const payload of missed) if (!sentLive.has(payload.id)) socket.emit(ServerEvent.Notification, payload);
        socket.emit(ServerEvent.Synced, { unread, unseen, truncated, cursor: resume });
        this.delivered.watch(socket, sentLive);
      });
    } catch (err) {
      socket.offAnyOutgoing(recordLive);
      this.logger.error(`catch-up for a socket failed: ${(err as Error).message}`);
      socket.emit(ServerEvent.Error, { code: 'UNAVAILABLE', message: 'catch-up failed; reconnect to retry' });
    }
  }

  list(socket: InboxSocket, body: unknown) {
    return this.answer(() => {
      const query = this.payload(body);
      const isObject = typeof query === 'object' && query !== null && !Array.isArray(query);
      // The service's list takes a scope in its query: a socket's is its handshake's (checked by
      // canAccessScope), never one its payload names. A query that is no object is refused as it is.
      if (isObject && 'scope' in query) {
        throw new InvalidInputError(`${ClientEvent.List}: scope: not a list field; a socket lists the inbox of its handshake's scope`);
      }
      return this.service.list(socket.data.userId, (isObject ? { ...query, scope: socket.data.scope } : query) as never);
    });
  }

  /** `{ ids }` or `{ filter }`; answers `{ changed, unread, unseen }` (the first protocol's `{ unread }` with more). */
  read(socket: InboxSocket, body: unknown) {
    return this.changeState(socket, body, ClientEvent.Read, async (userId, which, scope) => {
      const { ids: _ids, ...result } = await this.service.markRead(userId, which, scope);
      return result;
    });
  }

  readAll(socket: InboxSocket, body: unknown) {
    return this.answer(() => {
      schema.parse(schema.emptyPayload, this.payload(body), ClientEvent.ReadAll);
      return this.service.markAllRead(socket.data.userId, scopeOf(socket));
    });
  }

  /** `{ ids }` or `{ filter }` (the wire's Selection), handed to the service as ids or a filter. */
  changeState(
    socket: InboxSocket,
    body: unknown,
    event: string,
    run: (userId: string, which: IdsOrFilter, scope: ScopeOption) => Promise<StateResult>,
  ) {
    return this.answer(async () => {
      const selection = schema.parseSelection(this.payload(body), event);
      return run(socket.data.userId, 'ids' in selection ? selection.ids : selection.filter, scopeOf(socket));
    });
  }

  snooze(socket: InboxSocket, body: unknown) {
    return this.answer(() => {
      const { ids, until } = schema.parse(schema.snoozePayload, this.payload(body), ClientEvent.Snooze);
      return this.service.snooze(socket.data.userId, ids, until, scopeOf(socket));
    });
  }

  /** Answers the views' counts, and from then on pushes them to this socket when they change. */
  counts(socket: InboxSocket, body: unknown) {
    return this.answer(async () => {
      const { views } = schema.parse(schema.countsPayload, this.payload(body), ClientEvent.Counts);
      return { counts: await this.viewCounts.watch(socket, parseViews(views, `${ClientEvent.Counts}: views`)) };
    });
  }

  preferences(socket: InboxSocket, body: unknown) {
    return this.answer(async () => {
      schema.parse(schema.emptyPayload, this.payload(body), ClientEvent.PreferencesGet);
      return this.withChannels(await this.service.getPreferences(socket.data.userId, scopeOf(socket)));
    });
  }

  setPreferences(socket: InboxSocket, body: unknown) {
    return this.answer(async () =>
      this.withChannels(await this.service.setPreferences(socket.data.userId, this.payload(body) as PreferencesUpdate, scopeOf(socket))),
    );
  }

  /** The preferences with the channels this server sends on: a page has no other way to know them. */
  private withChannels(preferences: Preferences): PreferencesAnswer {
    return { ...preferences, availableChannels: this.availableChannels };
  }

  subscribe(socket: InboxSocket, body: unknown) {
    return this.answer(async () => {
      const { topic } = schema.parse(schema.topicPayload, this.payload(body), ClientEvent.Subscribe);
      if (!(await this.options.canSubscribe(socket.data.userId, topic, socket.data.scope))) {
        throw new NotificationsError('FORBIDDEN', `not allowed to subscribe to topic '${topic}'`);
      }
      await this.service.subscribe(socket.data.userId, topic, scopeOf(socket));
      return { ok: true as const };
    });
  }

  unsubscribe(socket: InboxSocket, body: unknown) {
    return this.answer(async () => {
      const { topic } = schema.parse(schema.topicPayload, this.payload(body), ClientEvent.Unsubscribe);
      await this.service.unsubscribe(socket.data.userId, topic, scopeOf(socket));
      return { ok: true as const };
    });
  }

  /** An event sent with an ack but no payload has no body. */
  private payload(body: unknown): unknown {
    return body ?? {};
  }

  /** Runs a handler and acks its result, or `{ error: { code, message } }`; never throws. */
  private async answer<T>(run: () => Promise<T> | T): Promise<T | AckError> {
    try {
      return await run();
    } catch (err) {
      if (err instanceof NotificationsError) return err.toAck();
      this.logger.error(`socket handler failed: ${(err as Error).message}`);
      return { error: { code: 'INTERNAL', message: 'internal error' } };
    }
  }
}

/** The service's option for the socket's scope (none for an unscoped socket). */
function scopeOf(socket: InboxSocket): ScopeOption {
  return socket.data.scope === null ? {} : { scope: socket.data.scope };
}
