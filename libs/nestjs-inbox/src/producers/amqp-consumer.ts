import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
// Types only: the packages are optional peers, loaded by `loadAmqp` when `amqp` is set.
import type { AmqpConnectionManager, ChannelWrapper } from 'amqp-connection-manager';
import type { ConfirmChannel, ConsumeMessage } from 'amqplib';
import { InjectNotificationsOptions } from '../notifications.decorators';
import { InvalidInputError, NotificationsConfigError, NotificationsError } from '../notifications.errors';
import { statementRefusal } from '../persistence/postgres-errors';
import type { ResolvedAmqpOptions, ResolvedNotificationsOptions } from '../notifications.options';
import { NotificationService } from '../service/notification.service';
import { decodeProducerJson, dispatchProducerMessage, parseProducerMessage, withFallbackDedupeKey } from './producer-message';

type AmqpModule = typeof import('amqp-connection-manager');

/** Headers a dead-lettered message carries beside its own, unchanged body and properties. */
export const DEAD_LETTER_HEADERS = {
  error: 'x-inbox-error',
  code: 'x-inbox-error-code',
  queue: 'x-inbox-queue',
} as const;

/** Prefix of the `dedupeKey` taken from a message's `message_id` when the producer set no key. */
export const AMQP_DEDUPE_PREFIX = 'amqp:';

/** Longest wait between two attempts to store a message while the store is away. */
const MAX_RETRY_DELAY_MS = 30_000;
/** How long shutdown waits for messages being stored to commit and be acked. */
const DRAIN_TIMEOUT_MS = 10_000;

/**
 * Loads `amqp-connection-manager` (which loads `amqplib`), only when the `amqp` option is set,
 * so that hosts without RabbitMQ need neither package.
 */
export async function loadAmqp(load: () => Promise<unknown> = () => import('amqp-connection-manager')): Promise<AmqpModule> {
  try {
    const mod = (await load()) as AmqpModule & { default?: AmqpModule };
    return typeof mod.connect === 'function' ? mod : mod.default!;
  } catch (err) {
    const missing = /Cannot find (?:module|package) '([^']+)'/.exec((err as Error).message)?.[1];
    if (!missing) throw err;
    throw new NotificationsConfigError(
      `the \`amqp\` option needs the package '${missing.split('/')[0]}', which is not installed: ` +
        'npm install amqplib amqp-connection-manager',
    );
  }
}

/**
 * The `amqp` option's door: consumes the producer JSON from a durable queue.
 *
 * - Acked only after the notification committed (`NotificationService` resolves after commit);
 *   a message being stored when the connection drops is redelivered by the broker.
 * - A message over `maxBodyBytes` (refused by its size, before it is decoded or parsed), one
 *   that is not JSON or fails validation (text Postgres cannot store, data Postgres refused as
 *   such: SQLSTATE class 22) is copied, body and properties unchanged, to the dead-letter queue
 *   with the error in the `x-inbox-error` header, and acked once the broker confirmed the copy.
 * - A message the database refuses twice with the same error is dead-lettered with it too,
 *   whatever the error, or one poison message would hold a `prefetch` slot forever. Only a
 *   refusal of this statement by a live Postgres counts (`statementRefusal`: a SQLSTATE outside
 *   the classes about the server, the connection, the schema or concurrency): a refused or
 *   dropped connection, a timeout, a read-only standby, a missing table never do.
 * - Any other failure (the database away) is not the message's fault: it stays unacked and is
 *   retried with a growing delay, holding one of the `prefetch` slots, so nothing is lost and
 *   the queue waits instead of spinning; if the instance stops, the broker redelivers it.
 * - Redelivery stores once when the producer set a `dedupeKey` or a `message_id` (taken as the
 *   key `amqp:<message_id>`); a message with neither may be stored twice if it is redelivered
 *   after its commit and before its ack.
 * - amqp-connection-manager reconnects after the broker drops the connection and runs `setup`
 *   again on the new channel. Each message is acked on the channel it came from, never through
 *   the wrapper, whose `ack` would use the new channel and a delivery tag it does not know.
 */
@Injectable()
export class AmqpConsumer implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('NotificationsModule');
  private connection?: AmqpConnectionManager;
  private channel?: ChannelWrapper;
  /** The consumer of the current channel, to cancel it at shutdown. */
  private consumer?: { channel: ConfirmChannel; tag: string };
  private readonly closedChannels = new WeakSet<ConfirmChannel>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly stopping = new AbortController();

  constructor(
    @InjectNotificationsOptions() private readonly options: ResolvedNotificationsOptions,
    private readonly service: NotificationService,
  ) {}

  /** After every `onModuleInit`: the writer and the namespace are ready before a message arrives. */
  async onApplicationBootstrap(): Promise<void> {
    const amqp = this.options.amqp;
    if (!amqp) return;
    const { connect } = await loadAmqp();
    this.connection = connect([amqp.url], {
      reconnectTimeInSeconds: 2,
      connectionOptions: { clientProperties: { connection_name: `nestjs-inbox ${amqp.queue}` } },
    });
    // Logged once per outage, not once per attempt (every 2 s).
    let unreachable = false;
    this.connection.on('connect', () => {
      this.logger.log(`amqp: ${unreachable ? 'reachable again, ' : ''}consuming '${amqp.queue}'`);
      unreachable = false;
    });
    this.connection.on('disconnect', ({ err }) => {
      if (!this.stopping.signal.aborted) this.logger.warn(`amqp: connection lost (${err?.message ?? 'closed'}); reconnecting every 2 s`);
    });
    this.connection.on('connectFailed', ({ err }) => {
      if (!unreachable) this.logger.warn(`amqp: cannot connect (${err.message}); retrying every 2 s`);
      unreachable = true;
    });
    // The boot does not wait for the broker: the app runs without it and consumes once it is up.
    this.channel = this.connection.createChannel({
      name: 'nestjs-inbox',
      confirm: true,
      setup: (channel: ConfirmChannel) => this.setup(channel, amqp),
    });
    this.channel.on('error', (err: Error) => this.logger.error(`amqp: channel setup failed: ${err.message}`));
  }

  async onModuleDestroy(): Promise<void> {
    if (!this.connection) return;
    this.stopping.abort();
    // Stop taking messages, let the ones being stored commit and be acked, then close: what is
    // still unacked then goes back to the queue.
    const consumer = this.consumer;
    if (consumer && !this.closedChannels.has(consumer.channel)) await consumer.channel.cancel(consumer.tag).catch(() => undefined);
    await Promise.race([Promise.allSettled(this.inFlight), sleep(DRAIN_TIMEOUT_MS, undefined, { ref: false })]);
    await this.channel?.close().catch(() => undefined);
    await this.connection.close().catch(() => undefined);
  }

  /** Runs on every (re)connection, on the new channel. */
  private async setup(channel: ConfirmChannel, amqp: ResolvedAmqpOptions): Promise<void> {
    channel.once('close', () => this.closedChannels.add(channel));
    await channel.assertQueue(amqp.queue, { durable: true });
    await channel.assertQueue(amqp.deadLetterQueue, { durable: true });
    await channel.prefetch(amqp.prefetch);
    const { consumerTag } = await channel.consume(amqp.queue, (msg) => this.receive(channel, amqp, msg), { noAck: false });
    this.consumer = { channel, tag: consumerTag };
  }

  private receive(channel: ConfirmChannel, amqp: ResolvedAmqpOptions, msg: ConsumeMessage | null): void {
    if (msg === null) {
      // The broker cancelled the consumer (the queue was deleted): reconnect, whose setup
      // declares the queue again and consumes from it.
      if (this.stopping.signal.aborted) return;
      this.logger.warn(`amqp: the broker cancelled the consumer of '${amqp.queue}' (queue deleted?); reconnecting`);
      this.connection?.reconnect();
      return;
    }
    const done: Promise<void> = this.process(channel, amqp, msg)
      .catch((err: Error) => this.logger.error(`amqp: message left unacked: ${err.message}`))
      .finally(() => this.inFlight.delete(done));
    this.inFlight.add(done);
  }

  private async process(channel: ConfirmChannel, amqp: ResolvedAmqpOptions, msg: ConsumeMessage): Promise<void> {
    // By size first: a 40 MB message costs its decode and parse, and then fails them anyway.
    if (msg.content.length > amqp.maxBodyBytes) {
      const size = `message: ${msg.content.length} bytes, larger than ${amqp.maxBodyBytes} (amqp.maxBodyBytes); not parsed`;
      return this.deadLetter(channel, amqp, msg, new NotificationsError('PAYLOAD_TOO_LARGE', size));
    }
    let message;
    try {
      const parsed = parseProducerMessage(decodeProducerJson(msg.content));
      message = withFallbackDedupeKey(parsed, AMQP_DEDUPE_PREFIX, msg.properties.messageId as string | undefined);
    } catch (err) {
      if (!(err instanceof InvalidInputError)) throw err;
      return this.deadLetter(channel, amqp, msg, err);
    }
    let refused: string | undefined;
    for (let attempt = 0; ; attempt++) {
      try {
        await dispatchProducerMessage(this.service, message, 'amqp');
        return settle(channel, (c) => c.ack(msg));
      } catch (err) {
        // Checks the service makes beyond the schema (payload size, recipients, data Postgres
        // refused as such): the message's fault.
        if (err instanceof InvalidInputError) return this.deadLetter(channel, amqp, msg, err);
        const refusal = statementRefusal(err);
        if (refusal !== undefined && refusal === refused) {
          const twice = `not stored: the database refused it twice the same way (${refusal})`;
          return this.deadLetter(channel, amqp, msg, new NotificationsError('INTERNAL', twice));
        }
        refused = refusal;
        if (this.stopping.signal.aborted || this.closedChannels.has(channel)) return; // the broker redelivers it
        const delay = Math.min(MAX_RETRY_DELAY_MS, 500 * 2 ** attempt);
        this.logger.warn(`amqp: message not stored, retrying in ${delay} ms: ${(err as Error).message}`);
        const stopped = await sleep(delay, false, { signal: this.stopping.signal }).catch(() => true);
        if (stopped || this.closedChannels.has(channel)) return;
      }
    }
  }

  /** Copies the message to the dead-letter queue with the error; acks it once the broker has the copy. */
  private async deadLetter(
    channel: ConfirmChannel,
    amqp: ResolvedAmqpOptions,
    msg: ConsumeMessage,
    err: NotificationsError,
  ): Promise<void> {
    const p = msg.properties;
    // The producer's own properties, so the copy can be traced and replayed; not `expiration`
    // (the copy must stay) nor `userId` (the broker checks it against this connection's user).
    const kept = {
      contentType: p.contentType,
      contentEncoding: p.contentEncoding,
      correlationId: p.correlationId,
      messageId: p.messageId,
      timestamp: p.timestamp,
      type: p.type,
      appId: p.appId,
      priority: p.priority,
    };
    const defined = Object.fromEntries(Object.entries(kept).filter(([, v]) => v !== undefined && v !== null));
    try {
      await new Promise<void>((resolve, reject) =>
        channel.sendToQueue(
          amqp.deadLetterQueue,
          msg.content,
          {
            ...defined,
            persistent: true,
            headers: {
              ...p.headers,
              [DEAD_LETTER_HEADERS.error]: err.message.slice(0, 4000),
              [DEAD_LETTER_HEADERS.code]: err.code,
              [DEAD_LETTER_HEADERS.queue]: amqp.queue,
            },
          },
          (confirmErr: unknown) => (confirmErr ? reject(confirmErr as Error) : resolve()),
        ),
      );
    } catch (publishErr) {
      // Not in the dead-letter queue: keep it in the queue for another try, a little later.
      this.logger.warn(`amqp: could not dead-letter a message (${(publishErr as Error).message}); requeued`);
      await sleep(1000, undefined, { ref: false });
      return settle(channel, (c) => c.nack(msg, false, true));
    }
    this.logger.warn(`amqp: message moved to '${amqp.deadLetterQueue}': ${err.message}`);
    settle(channel, (c) => c.ack(msg));
  }
}

/**
 * Acks or nacks on the message's own channel. If that channel closed meanwhile the broker has
 * already put the message back, so there is nothing to do (and amqplib would throw).
 */
function settle(channel: ConfirmChannel, action: (channel: ConfirmChannel) => void): void {
  try {
    action(channel);
  } catch {
    // channel closed: redelivered, and stored once thanks to its dedupeKey
  }
}
