/** A call waiting in a Coalescer, settled by its batch's `flush`. */
export interface Pending<I, R> {
  input: I;
  resolve(result: R): void;
  reject(err: unknown): void;
}

export interface CoalescerLimits<I> {
  /** Batches in flight at once; calls that arrive meanwhile wait and go together in the next one. */
  inFlight: number;
  /** Largest batch, in units of `size` (default: one per call). */
  batch: number;
  size?: (input: I) => number;
  /**
   * Batches in flight at once, less than `inFlight`, beyond which only a full batch is sent:
   * while the calls trickle in, a second statement for one or two of them costs more (its round
   * trips and Postgres' overhead per statement) than waiting for the first to return.
   */
  partialInFlight?: number;
  /**
   * Under load, batches as large as the callers allow. While batches of at least this many
   * units are in flight, later calls wait: a batch starts once one settles (and the calls its
   * callers make at once are queued), and only with at least this many units, instead of each
   * call starting one of its own; and a batch takes at most its share of the callers queued and
   * in flight, so that one batch is stored while the other is handled. Without it, every call
   * may start a batch.
   */
  holdBehind?: number;
}

/**
 * Group commit for queries: a lone call goes at once; calls that arrive while `inFlight`
 * batches run are coalesced into the next one, so a burst of N calls costs a few round trips
 * instead of N (the writer's INSERT, a reconnect storm's catch-up reads). `flush` settles every
 * call of its batch; if it throws, the calls it left unsettled get the error.
 */
export class Coalescer<I, R> {
  private readonly queue: Pending<I, R>[] = [];
  private running = 0;
  /** Units in the batches in flight, and in the queue. */
  private inFlightUnits = 0;
  private queuedUnits = 0;

  constructor(
    private readonly flush: (batch: Pending<I, R>[]) => Promise<void>,
    private readonly limits: CoalescerLimits<I>,
  ) {}

  add(input: I): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ input, resolve, reject });
      this.queuedUnits += (this.limits.size ?? one)(input);
      this.pump(false);
    });
  }

  private pump(settled: boolean): void {
    const size = this.limits.size ?? one;
    const { holdBehind } = this.limits;
    while (this.running < this.limits.inFlight && this.queue.length > 0) {
      // Beyond `partialInFlight` batches, only a full one goes.
      if (this.running >= (this.limits.partialInFlight ?? this.limits.inFlight) && this.queuedUnits < this.limits.batch) return;
      let limit = this.limits.batch;
      if (holdBehind !== undefined) {
        const queued = this.queuedUnits;
        // Behind a large batch, a call waits; once a batch has settled, a backlog of its own size goes.
        if (this.inFlightUnits >= holdBehind && (!settled || queued < holdBehind)) return;
        // Balanced: the callers (queued and in flight) shared by the slots, so that one batch is
        // stored while another is handled, rather than one slot carrying nearly all of them.
        limit = Math.min(limit, Math.max(holdBehind, Math.ceil((queued + this.inFlightUnits) / this.limits.inFlight)));
      }
      const batch: Pending<I, R>[] = [];
      let total = 0;
      while (this.queue.length > 0 && (batch.length === 0 || total + size(this.queue[0].input) <= limit)) {
        const call = this.queue.shift()!;
        batch.push(call);
        total += size(call.input);
      }
      this.running++;
      this.inFlightUnits += total;
      this.queuedUnits -= total;
      void this.flush(batch)
        // A promise settles once: this only reaches the calls `flush` did not settle.
        .catch((err: unknown) => batch.forEach((call) => call.reject(err)))
        .finally(() => {
          this.running--;
          this.inFlightUnits -= total;
          // Holding: the next batch starts once the calls this one's callers make at once are queued.
          if (holdBehind === undefined) this.pump(true);
          else setImmediate(() => this.pump(true));
        });
    }
  }
}

const one = () => 1;
