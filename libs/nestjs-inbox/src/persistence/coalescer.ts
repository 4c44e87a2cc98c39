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

  constructor(
    private readonly flush: (batch: Pending<I, R>[]) => Promise<void>,
    private readonly limits: CoalescerLimits<I>,
  ) {}

  add(input: I): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ input, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    const size = this.limits.size ?? (() => 1);
    while (this.running < this.limits.inFlight && this.queue.length > 0) {
      if (this.running >= (this.limits.partialInFlight ?? this.limits.inFlight) && !this.fullBatchWaits(size)) return;
      const batch: Pending<I, R>[] = [];
      let total = 0;
      while (this.queue.length > 0 && (batch.length === 0 || total + size(this.queue[0].input) <= this.limits.batch)) {
        const call = this.queue.shift()!;
        batch.push(call);
        total += size(call.input);
      }
      this.running++;
      void this.flush(batch)
        // A promise settles once: this only reaches the calls `flush` did not settle.
        .catch((err: unknown) => batch.forEach((call) => call.reject(err)))
        .finally(() => {
          this.running--;
          this.pump();
        });
    }
  }

  private fullBatchWaits(size: (input: I) => number): boolean {
    if (!this.limits.size) return this.queue.length >= this.limits.batch;
    let total = 0;
    for (const call of this.queue) if ((total += size(call.input)) >= this.limits.batch) return true;
    return false;
  }
}
