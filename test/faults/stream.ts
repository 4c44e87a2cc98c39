/** What the test asks the producer-only worker to send, and what the worker reports per call. */

export type CallKind = 'notify' | 'publish' | 'broadcast';

export interface StreamSpec {
  /** Calls per second, open loop: a slow call does not slow the rate down. */
  rate: number;
  /** Relative weights of the three calls. */
  mix: Record<CallKind, number>;
  /** Recipients `notify` picks from. */
  users: string[];
  /** Topics `publish` picks from. */
  topics: string[];
  /** `notify` goes to 1..maxRecipients users at once. */
  maxRecipients: number;
  /**
   * Host transactions held open on purpose: this share of the calls is made with
   * `{ manager }` inside a transaction that stays open minMs..maxMs before it commits (or, for
   * the `rollback` share of them, rolls back), while other calls commit meanwhile: their ids
   * are smaller than ids delivered before them.
   */
  held?: { share: number; minMs: number; maxMs: number; rollback: number; maxOpen: number };
  /**
   * `sql`: each call is the SQL door's function (`SELECT inbox_notify(...)`, `inbox_publish`,
   * `inbox_broadcast`) on the worker's connections, as a program in another language makes it;
   * the gateways' SQL listeners deliver. Default `service`: the library's methods.
   */
  door?: 'service' | 'sql';
  seed: number;
}

export interface StoredRow {
  id: string;
  userId: string | null;
  topic: string | null;
  broadcast: boolean;
}

export interface CallRecord {
  seq: number;
  kind: CallKind;
  held: boolean;
  /** `notify`: its recipients; `publish`: its topic. */
  to?: string[];
  topic?: string;
  issuedAt: number;
  settledAt: number;
  /** committed: the call returned (after its transaction committed, when held); failed: it threw. */
  outcome: 'committed' | 'failed' | 'rolled-back';
  rows: StoredRow[];
  error?: string;
}

export interface StreamSummary {
  issued: number;
  committed: number;
  failed: number;
  rolledBack: number;
  /** Calls that neither returned nor threw within the stop timeout: a silent drop. */
  hung: { seq: number; kind: CallKind; issuedAt: number }[];
}

/** A small seeded generator, so a failing run can be replayed with the same calls. */
export function random(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 0x1_0000_0000;
  };
}
