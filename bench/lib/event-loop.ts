import { constants, createHistogram, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';

/**
 * The event loop's delay in a server process, and what each long stall was made of. A timer
 * that should fire every TICK_MS records each interval between its turns (an idle loop reads
 * about TICK_MS, as perf_hooks' monitorEventLoopDelay would) into a histogram (p99 and max since
 * the last read), and notes each late turn with the CPU time the process used meanwhile and the
 * garbage collection that ran in it. A stall whose CPU is about its length was the process's
 * own work (a GC, a long synchronous batch); one with little CPU was the process waiting for a
 * core (a machine shared by other processes), which no change to the code removes.
 *
 * A full GC the measuring harness forces to read the heap (`collect`, the fault suite's memory
 * samples) is the harness's own pause, not the app's: its length is left out of the interval
 * it fell in, and reported apart (`forcedGcMs`). Anything else in that interval still counts.
 * Used by the bench's servers and the fault suite's instances (docs/performance.md).
 */
const TICK_MS = 10;
/** Late turns longer than this are kept (the longest STALLS_KEPT since the last read). */
const STALL_MS = 50;
const STALLS_KEPT = 5;

export interface Stall {
  /** How late the turn was (ms), less any forced GC in it. */
  ms: number;
  /** When the late turn ran (epoch ms). */
  at: number;
  /** CPU time (user + system) the process used over the late turn's interval, less that of forced GCs (ms). */
  cpuMs: number;
  /** The app's garbage collection that ran in that interval (ms), and the longest pause's kind. */
  gcMs: number;
  gcKind: string | null;
}

export interface EventLoopReport {
  p99Ms: number;
  maxMs: number;
  /** Sum of the app's GC pauses since the last read, and the longest. */
  gcMs: number;
  gcMaxMs: number;
  /** Forced full GCs (`collect`) since the last read: the harness's pauses, left out of the delays. */
  forcedGcMs: number;
  stalls: Stall[];
}

interface Span {
  start: number;
  end: number;
}

const GC_KINDS: Record<number, string> = { 1: 'scavenge', 2: 'mark-compact', 4: 'incremental', 8: 'weak callbacks' };

export class EventLoopWatch {
  /** Intervals between ticks, in µs. */
  private readonly histogram = createHistogram();
  private readonly gcs: (Span & { kind: string })[] = [];
  /** Forced GCs (`collect`), with the CPU they took, that may still overlap an interval not yet recorded. */
  private readonly forced: (Span & { cpuMs: number })[] = [];
  private stalls: Stall[] = [];
  private gcMs = 0;
  private gcMaxMs = 0;
  private forcedGcMs = 0;
  private readonly observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) this.gc(e);
  });
  private readonly timer: NodeJS.Timeout;

  constructor() {
    this.observer.observe({ entryTypes: ['gc'] });
    let last = performance.now();
    let lastCpu = process.cpuUsage();
    // A GC's entry reaches the observer after the turn that noticed the stall: a stall is
    // attributed one tick later. A forced GC is known at once (`collect` notes it).
    let pending: { from: number; to: number; ms: number; cpuMs: number } | null = null;
    this.timer = setInterval(() => {
      const now = performance.now();
      if (pending) this.attribute(pending);
      pending = null;
      // A forced GC runs within one turn: it lies wholly inside one interval.
      const forced = this.forced.filter((f) => f.end > last && f.start < now);
      const interval = now - last - forced.reduce((s, f) => s + f.end - f.start, 0);
      this.histogram.record(Math.max(1, Math.round(interval * 1000)));
      if (interval - TICK_MS > STALL_MS) {
        const cpu = process.cpuUsage(lastCpu);
        const cpuMs = (cpu.user + cpu.system) / 1000 - forced.reduce((s, f) => s + f.cpuMs, 0);
        pending = { from: last, to: now, ms: interval - TICK_MS, cpuMs: Math.max(0, cpuMs) };
      }
      // Only the GCs that may still overlap a stall being attributed.
      while (this.gcs.length > 0 && this.gcs[0].end < now - 1000) this.gcs.shift();
      while (this.forced.length > 0 && this.forced[0].end < now) this.forced.shift();
      last = now;
      lastCpu = process.cpuUsage();
    }, TICK_MS);
    this.timer.unref();
  }

  /**
   * A full GC forced by the measuring harness (heap after a full GC; the process runs with
   * --expose-gc). Its pause is left out of the event-loop delay and reported as `forcedGcMs`.
   */
  collect(): void {
    const gc = (global as { gc?: () => void }).gc;
    if (!gc) throw new Error('EventLoopWatch.collect needs node --expose-gc');
    const start = performance.now();
    const cpu = process.cpuUsage();
    gc();
    const end = performance.now();
    const used = process.cpuUsage(cpu);
    this.forced.push({ start, end, cpuMs: (used.user + used.system) / 1000 });
    this.forcedGcMs += end - start;
  }

  /** p99, max and the longest stalls since the last call (then starts over). */
  read(): EventLoopReport {
    const out: EventLoopReport = {
      p99Ms: round(this.histogram.count ? this.histogram.percentile(99) / 1e3 : 0),
      maxMs: round(this.histogram.count ? this.histogram.max / 1e3 : 0),
      gcMs: round(this.gcMs),
      gcMaxMs: round(this.gcMaxMs),
      forcedGcMs: round(this.forcedGcMs),
      stalls: this.stalls,
    };
    this.histogram.reset();
    this.stalls = [];
    this.gcMs = 0;
    this.gcMaxMs = 0;
    this.forcedGcMs = 0;
    return out;
  }

  stop(): void {
    clearInterval(this.timer);
    this.observer.disconnect();
  }

  private gc(e: PerformanceEntry): void {
    const detail = (e as PerformanceEntry & { detail?: { kind?: number; flags?: number } }).detail;
    // A forced GC is `global.gc()`: the measuring harness's own (counted by `collect`), not the app's.
    if (((detail?.flags ?? 0) & constants.NODE_PERFORMANCE_GC_FLAGS_FORCED) !== 0) return;
    this.gcs.push({ start: e.startTime, end: e.startTime + e.duration, kind: GC_KINDS[detail?.kind ?? 0] ?? 'other' });
    this.gcMs += e.duration;
    this.gcMaxMs = Math.max(this.gcMaxMs, e.duration);
  }

  private attribute({ from, to, ms, cpuMs }: { from: number; to: number; ms: number; cpuMs: number }): void {
    const inStall = this.gcs.filter((g) => g.end > from && g.start < to);
    let longest: (typeof inStall)[number] | null = null;
    for (const g of inStall) if (!longest || g.end - g.start > longest.end - longest.start) longest = g;
    this.keep({
      ms: Math.round(ms),
      at: Math.round(performance.timeOrigin + to),
      cpuMs: Math.round(cpuMs),
      gcMs: Math.round(inStall.reduce((s, g) => s + Math.min(g.end, to) - Math.max(g.start, from), 0)),
      gcKind: longest?.kind ?? null,
    });
  }

  private keep(stall: Stall): void {
    this.stalls.push(stall);
    this.stalls.sort((a, b) => b.ms - a.ms);
    if (this.stalls.length > STALLS_KEPT) this.stalls.length = STALLS_KEPT;
  }
}

const round = (x: number) => Math.round(x * 10) / 10;
