import { Inject, Injectable } from '@nestjs/common';
import {
  context,
  metrics,
  trace,
  type Attributes,
  type Context,
  type Counter,
  type Histogram,
  type Tracer,
  type UpDownCounter,
} from '@opentelemetry/api';
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { Namespace } from 'socket.io';
import { NOTIFICATIONS_OPTIONS } from '../notifications.constants';
import type { ResolvedNotificationsOptions } from '../notifications.options';
import type { Channel } from '../protocol';
import type { Door } from './door';
import { observe, Totals, type TotalsEntry } from './observable-totals';
import { onSocketDisconnect } from '../realtime/socket-disconnects';
import { ended, failed } from './span-endings';

/** The instrumentation scope: the name the host's SDK shows for our meter and tracer. */
export const INSTRUMENTATION_SCOPE = 'nestjs-inbox';

/** The contract's instruments (docs/observability.md lists their attributes). */
export const Instrument = {
  Stored: 'inbox.notifications.stored',
  Deliveries: 'inbox.deliveries',
  Connections: 'inbox.connections',
  DeliveryLatency: 'inbox.delivery.latency',
  CatchUpDuration: 'inbox.catch_up.duration',
  ChannelSends: 'inbox.channel.sends',
} as const;

/** The spans, each a child of the caller's active span. */
export const SpanName = {
  Notify: 'inbox.notify',
  /** A delivery after the caller's own COMMIT (`notify(..., { manager })`): a child of its `inbox.notify`. */
  Deliver: 'inbox.deliver',
  CatchUp: 'inbox.catch_up',
  ChannelSend: 'inbox.channel.send',
} as const;

/** What a channel send became, as the `outcome` of `inbox.channel.sends`. */
export type ChannelSendOutcome = 'sent' | 'skipped' | 'failed';

/** Who a notification is for: one user each (`direct`), everyone, or a topic's subscribers. */
export type Kind = 'direct' | 'broadcast' | 'topic';

export function kindOf(row: { user_id: string | null; topic: string | null }): Kind {
  return row.user_id !== null ? 'direct' : row.topic !== null ? 'topic' : 'broadcast';
}

/**
 * Milliseconds on the monotonic clock, with its resolution (a commit→emit is often under 1 ms).
 * Compare it only with itself: anchored to the wall clock once, at the process's start, it
 * parts from it whenever the wall clock is set (an NTP step, a virtual machine resumed).
 */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * The library's metrics and spans, through `@opentelemetry/api` only: no-ops until the host
 * registers an SDK. The meter is taken when Nest builds this provider (when the host creates
 * its app), not when the module is imported: the API hands out a no-op meter for good to whoever
 * asks before an SDK is registered, so a host that registers its SDK first, then creates the
 * app, as the OpenTelemetry guides say, gets our instruments.
 *
 * Attributes are few-valued only (door, kind, outcome, channel, instance): never a user id, a
 * topic or a title, which would make a time series per user (cost) and export personal data.
 */
@Injectable()
export class InboxTelemetry {
  /** This process, as the `instance` attribute: one series per process (its host name and pid). */
  readonly instance = `${hostname()}:${process.pid}`;
  private readonly tracer: Tracer = trace.getTracer(INSTRUMENTATION_SCOPE);
  /**
   * The two per-notification counters are summed here and read by the SDK when it collects:
   * a `Counter.add` hashes its attributes on every call (about 1 µs, measured with SDK 2.12),
   * twice per notification, where a Map entry per door and kind costs next to nothing.
   */
  private readonly storedTotals = new Totals();
  private readonly deliveryTotals = new Totals();
  /** `inbox.catch_up.duration`'s attribute sets, by `resumed` (0, 1) and outcome: made once. */
  private readonly catchUpAttributes = [false, true].map((resumed) => ({
    ok: { outcome: 'ok', resumed, instance: this.instance } satisfies Attributes,
    error: { outcome: 'error', resumed, instance: this.instance } satisfies Attributes,
  }));
  /** `inbox.channel.sends`' attribute sets by channel and outcome, made on first use. */
  private readonly sendAttributes: Partial<Record<Channel, Partial<Record<ChannelSendOutcome, Attributes>>>> = {};
  /** Each door and kind's series, made on first use. */
  private readonly series: Partial<Record<Door, Partial<Record<Kind, Series>>>> = {};
  private readonly connections: UpDownCounter;
  private readonly latency: Histogram;
  private readonly catchUps: Histogram;
  private readonly channelSends: Counter;
  /** `notifySpans: 'withParent'`: no `inbox.notify` (nor `inbox.deliver`) without the caller's span. */
  private readonly needsParent: boolean;

  constructor(@Inject(NOTIFICATIONS_OPTIONS) { notifySpans }: Pick<ResolvedNotificationsOptions, 'notifySpans'>) {
    this.needsParent = notifySpans === 'withParent';
    const meter = metrics.getMeter(INSTRUMENTATION_SCOPE);
    observe(
      meter.createObservableCounter(Instrument.Stored, {
        description: 'Notifications stored (counted at commit), by door, kind and outcome (stored, duplicate)',
        unit: '{notification}',
      }),
      this.storedTotals,
    );
    observe(
      meter.createObservableCounter(Instrument.Deliveries, {
        description: 'Committed notifications this instance emitted to sockets, by door and kind',
        unit: '{notification}',
      }),
      this.deliveryTotals,
    );
    this.connections = meter.createUpDownCounter(Instrument.Connections, {
      description: 'Authenticated sockets open on this instance',
      unit: '{connection}',
    });
    this.latency = meter.createHistogram(Instrument.DeliveryLatency, {
      description: "From a notification's commit to its emit, by door and kind (door sql: from the producer's transaction start)",
      unit: 'ms',
    });
    this.catchUps = meter.createHistogram(Instrument.CatchUpDuration, {
      description: 'From an authenticated connection to notifications:synced, by outcome and whether the client resumed from a cursor',
      unit: 'ms',
    });
    this.channelSends = meter.createCounter(Instrument.ChannelSends, {
      description:
        'Sends through a delivery channel (email, webPush), one per notification and user, by channel and outcome (sent, skipped, failed)',
      unit: '{send}',
    });
  }

  /**
   * Runs one store-and-deliver (its INSERT, its COMMIT when the library commits, its emit) as
   * the span `inbox.notify`, a child of the caller's active span. `fn` gets, in the caller's
   * transaction, the span's context, to parent the delivery made after the caller's own COMMIT.
   *
   * Per notification, so it does no more than the span needs (bench 2, docs/benchmarks.md): a
   * span nobody records (no SDK, or a sampler that dropped it) gets no attributes and is made
   * no one's active span; a recorded one is made active only in the caller's transaction, where
   * the call's own statements run beneath it. Outside one, the writer batches many calls' rows
   * into one INSERT that belongs to none of them, and making each span active (an
   * AsyncLocalStorage run per call) bought nothing but its cost. The attributes are set once the
   * span is known to record, so a sampler sees only the span's name and parent (what
   * ParentBased and TraceIdRatio decide on). Under `notifySpans: 'withParent'`, a call outside
   * the caller's span starts none: a root span's sampling, ids, (when sampled) recording and
   * their garbage are about half the telemetry's cost per notification (docs/observability.md).
   */
  notify<T>(door: Door, kind: Kind, recipients: number, inTransaction: boolean, fn: (ctx: Context) => Promise<T>): Promise<T> {
    const parent = context.active();
    // Its delivery after COMMIT gets the same parent-less context, so starts no span either.
    if (this.needsParent && trace.getSpan(parent) === undefined) return fn(parent);
    const span = this.tracer.startSpan(SpanName.Notify, undefined, parent);
    if (!span.isRecording()) {
      // In a transaction, the delivery after COMMIT is still this dropped span's child (so
      // dropped too), not a root span the sampler would decide on again.
      return fn(inTransaction ? trace.setSpan(parent, span) : parent);
    }
    // One call each, not an object the SDK would walk (per recorded notification).
    span.setAttribute('door', door).setAttribute('kind', kind);
    span.setAttribute('inbox.recipients', recipients).setAttribute('inbox.in_transaction', inTransaction);
    // The span's context is wanted only in a transaction (its statements, the delivery after COMMIT).
    if (!inTransaction) return ended(span, fn(parent));
    const ctx = trace.setSpan(parent, span);
    return ended(span, context.with(ctx, fn, undefined, ctx));
  }

  /** Runs a delivery after the caller's COMMIT as `inbox.deliver`, a child of the notify that stored it. */
  deliverAfterCommit<T>(parent: Context, fn: () => Promise<T>): Promise<T> {
    if (this.needsParent && trace.getSpan(parent) === undefined) return fn();
    const span = this.tracer.startSpan(SpanName.Deliver, undefined, parent);
    return span.isRecording() ? ended(span, context.with(trace.setSpan(parent, span), fn)) : fn();
  }

  /** Notifications committed: `stored` of `requested` (the rest had a `dedupeKey` used already). */
  recordStored(door: Door, kind: Kind, stored: number, requested: number): void {
    const series = this.seriesOf(door, kind);
    if (stored > 0) series.stored.value += stored;
    if (requested > stored) series.duplicate.value += requested - stored;
  }

  /**
   * Rows just emitted, committed at `committedAt` (nowMs() clock), or, without it, at their
   * `created_at` (the SQL door: Postgres keeps no commit time, the producer's transaction start
   * is the nearest it has, so that latency includes the producer's transaction and the LISTEN).
   * `created_at` is Postgres's wall clock, so it is compared with `Date.now()`, never nowMs().
   * `ctx`: the caller's context, when the delivery has it at hand (`notify`'s), given to the SDK
   * with each value: under a host's View the SDK would otherwise look up the active context for
   * every one (bench/otel-calls.ts).
   */
  recordDelivered(
    door: Door,
    rows: readonly { user_id: string | null; topic: string | null; created_at: Date }[],
    committedAt?: number,
    ctx?: Context,
  ): void {
    const now = committedAt === undefined ? Date.now() : nowMs();
    for (const row of rows) {
      const series = this.seriesOf(door, kindOf(row));
      series.delivered.value++;
      this.latency.record(Math.max(0, now - (committedAt ?? row.created_at.getTime())), series.attributes, ctx);
    }
  }

  /** The counters' entries and the histogram's attribute set of a door and kind, made once (nothing allocated per row). */
  private seriesOf(door: Door, kind: Kind): Series {
    const byKind = (this.series[door] ??= {});
    let series = byKind[kind];
    if (!series) {
      const instance = this.instance;
      byKind[kind] = series = {
        attributes: { door, kind, instance },
        stored: this.storedTotals.entry({ door, kind, outcome: 'stored', instance }),
        duplicate: this.storedTotals.entry({ door, kind, outcome: 'duplicate', instance }),
        delivered: this.deliveryTotals.entry({ door, kind, instance }),
      };
    }
    return series;
  }

  /** Counts the namespace's authenticated sockets while they are open. */
  trackConnections(nsp: Namespace): void {
    const attributes = { instance: this.instance };
    // A job of the namespace's shared `disconnect` listener, not a `once` wrapper per socket (an idle socket's heap).
    nsp.on('connection', () => this.connections.add(1, attributes));
    onSocketDisconnect(nsp, () => this.connections.add(-1, attributes));
  }

  /**
   * Runs a socket's catch-up (rooms, missed rows, synced) as the span `inbox.catch_up`, timed:
   * one reaction on `fn`'s promise records the time and ends the span (when it records), and a
   * dropped span gets no context.
   */
  catchUp<T>(resumed: boolean, fn: () => Promise<T>): Promise<T> {
    const start = nowMs();
    const parent = context.active();
    const span = this.tracer.startSpan(SpanName.CatchUp, undefined, parent);
    const recording = span.isRecording();
    if (recording) span.setAttribute('inbox.resumed', resumed);
    const work = recording ? context.with(trace.setSpan(parent, span), fn) : fn();
    return work.then(
      (result) => {
        this.catchUps.record(nowMs() - start, this.catchUpAttributes[resumed ? 1 : 0].ok);
        if (recording) span.end();
        return result;
      },
      (err: unknown) => {
        this.catchUps.record(nowMs() - start, this.catchUpAttributes[resumed ? 1 : 0].error);
        if (recording) failed(span, err);
        throw err;
      },
    );
  }

  /**
   * Runs one hand-over to a channel's sender (an e-mail, a digest included, or a push to a
   * user's devices) as the span `inbox.channel.send`, its failure recorded on the span. Not
   * counted here: what a send became is counted by `recordChannelSends`, after the engine
   * has recorded it.
   */
  channelSend<T>(channel: Channel, notifications: number, attempt: number, fn: () => Promise<T>): Promise<T> {
    const parent = context.active();
    const span = this.tracer.startSpan(SpanName.ChannelSend, undefined, parent);
    if (!span.isRecording()) return fn();
    span.setAttribute('channel', channel).setAttribute('inbox.notifications', notifications).setAttribute('inbox.attempt', attempt);
    return ended(span, context.with(trace.setSpan(parent, span), fn));
  }

  /**
   * Sends (one per notification, user and channel: a digest of five counts five) that became
   * `sent`, `skipped` (checked at claim time) or `failed` (an attempt the sender refused, retried
   * or given up).
   */
  recordChannelSends(channel: Channel, outcome: ChannelSendOutcome, sends: number): void {
    if (sends > 0)
      this.channelSends.add(sends, ((this.sendAttributes[channel] ??= {})[outcome] ??= { channel, outcome, instance: this.instance }));
  }
}

/** A door and kind's series: the counters' entries, the histogram's attributes. */
interface Series {
  attributes: Attributes;
  stored: TotalsEntry;
  duplicate: TotalsEntry;
  delivered: TotalsEntry;
}
