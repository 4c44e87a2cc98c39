import { constants, monitorEventLoopDelay, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';

/**
 * The event loop's delay in a server process (perf_hooks' histogram: p99 and max since the
 * last read; each sample is the time between two turns of a TICK_MS timer, so an idle loop reads
 * about TICK_MS), and what each long stall was made of: a timer that should fire every TICK_MS
 * notes each late turn with the CPU time the process used meanwhile and the garbage
 * collection that ran in it. A stall whose CPU is about its length was the process's own
 * work (a GC, a long synchronous batch); one with little CPU was the process waiting for a
 * core (a machine shared by other processes), which no change to the code removes.
 * Used by the bench's servers and the fault suite's instances (docs/performance.md).
 */
const TICK_MS = 10;
/** Late turns longer than this are kept (the longest STALLS_KEPT since the last read). */
const STALL_MS = 50;
const STALLS_KEPT = 5;

export interface Stall {
  /** How late the turn was (ms). */
  ms: number;
  /** CPU time (user + system) the process used over the late turn's interval (ms). */
  cpuMs: number;
  /** Garbage collection that ran in that interval (ms), and the longest pause's kind. */
  gcMs: number;
  gcKind: string | null;
}

export interface EventLoopReport {
  p99Ms: number;
  maxMs: number;
  /** Sum of GC pauses since the last read, and the longest. */
  gcMs: number;
  gcMaxMs: number;
  stalls: Stall[];
}

const GC_KINDS: Record<number, string> = { 1: 'scavenge', 2: 'mark-compact', 4: 'incremental', 8: 'weak callbacks' };

export class EventLoopWatch {
  private readonly histogram = monitorEventLoopDelay({ resolution: 10 });
  private readonly gcs: { start: number; end: number; kind: string }[] = [];
  private stalls: Stall[] = [];
  private gcMs = 0;
  private gcMaxMs = 0;
  private readonly observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) this.gc(e);
  });
  private readonly timer: NodeJS.Timeout;

  constructor() {
    this.histogram.enable();
    this.observer.observe({ entryTypes: ['gc'] });
    let last = performance.now();
    let lastCpu = process.cpuUsage();
    // A GC's entry reaches the observer after the turn that noticed the stall: a stall is
    // attributed one tick later.
    let pending: { from: number; to: number; ms: number; cpuMs: number } | null = null;
    this.timer = setInterval(() => {
      const now = performance.now();
      if (pending) this.attribute(pending);
      pending = null;
      const late = now - last - TICK_MS;
      if (late > STALL_MS) {
        const cpu = process.cpuUsage(lastCpu);
        pending = { from: last, to: now, ms: late, cpuMs: (cpu.user + cpu.system) / 1000 };
      }
      // Only the GCs that may still overlap a stall being attributed.
      while (this.gcs.length > 0 && this.gcs[0].end < now - 1000) this.gcs.shift();
      last = now;
      lastCpu = process.cpuUsage();
    }, TICK_MS);
    this.timer.unref();
  }

  /** p99, max and the longest stalls since the last call (then starts over). */
  read(): EventLoopReport {
    const out: EventLoopReport = {
      p99Ms: round(this.histogram.percentile(99) / 1e6),
      maxMs: round(this.histogram.max / 1e6),
      gcMs: round(this.gcMs),
      gcMaxMs: round(this.gcMaxMs),
      stalls: this.stalls,
    };
    this.histogram.reset();
    this.stalls = [];
    this.gcMs = 0;
    this.gcMaxMs = 0;
    return out;
  }

  stop(): void {
    clearInterval(this.timer);
    this.observer.disconnect();
    this.histogram.disable();
  }

  private gc(e: PerformanceEntry): void {
    const detail = (e as PerformanceEntry & { detail?: { kind?: number; flags?: number } }).detail;
    // A forced GC is `global.gc()`: the measuring harness's own (memory after a full GC), not the app's.
    const forced = ((detail?.flags ?? 0) & constants.NODE_PERFORMANCE_GC_FLAGS_FORCED) !== 0;
    const kind = (GC_KINDS[detail?.kind ?? 0] ?? 'other') + (forced ? ' (forced)' : '');
    this.gcs.push({ start: e.startTime, end: e.startTime + e.duration, kind });
    this.gcMs += e.duration;
    this.gcMaxMs = Math.max(this.gcMaxMs, e.duration);
  }

  private attribute({ from, to, ms, cpuMs }: { from: number; to: number; ms: number; cpuMs: number }): void {
    const inStall = this.gcs.filter((g) => g.end > from && g.start < to);
    let longest: (typeof inStall)[number] | null = null;
    for (const g of inStall) if (!longest || g.end - g.start > longest.end - longest.start) longest = g;
    this.keep({
      ms: Math.round(ms),
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
