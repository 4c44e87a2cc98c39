import { MAX_HELD_IDS, type HandshakeAuth } from '../protocol';
import type { PersistedCursor } from './cursor-storage';
import { compareIds, maxId } from './notification-list';

/** Most ids remembered as received for `notification` and `auth.held` besides those held. */
export const MAX_RECEIVED = 1024;

/**
 * Where this client stopped: the newest id received (the cursor every (re)connect sends, so the
 * server's catch-up resumes exactly there), and the ids received lately, which tell a new
 * notification from one seen before and which the catch-up need not resend.
 */
export class Cursor {
  private value: string | undefined;
  /** Ids the server pushed (live or caught up), newest last, at most `MAX_RECEIVED`. */
  private readonly received = new Set<string>();

  /** `persisted`: where the cursor survives a page load; it starts from what is stored there. */
  constructor(private persisted?: PersistedCursor) {
    this.value = persisted?.load();
  }

  /**
   * Starts over as another inbox's cursor (another scope): what was received is forgotten, and
   * the cursor is the one stored for it (none if `persisted` is not given).
   */
  reset(persisted?: PersistedCursor): void {
    this.persisted = persisted;
    this.received.clear();
    this.value = persisted?.load();
  }

  get current(): string | undefined {
    return this.value;
  }

  /** Whether the server pushed `id` to this client lately. */
  hasReceived(id: string): boolean {
    return this.received.has(id);
  }

  /** The server pushed `id`: remembered (the oldest forgotten past `MAX_RECEIVED`), and the cursor moves to it if newer. */
  receive(id: string): void {
    this.received.delete(id);
    this.received.add(id);
    if (this.received.size > MAX_RECEIVED) this.received.delete(this.received.values().next().value!);
    this.move(id);
  }

  /** Moves the cursor to `id` if it is newer; never back. */
  move(id: string | undefined): void {
    const newest = maxId(this.value, id);
    if (newest !== this.value && newest !== undefined) {
      this.value = newest;
      this.persisted?.save(newest);
    }
  }

  /**
   * The handshake's `auth`: the cursor, and the newest ids received or `held` (the list on show)
   * below it, at most `MAX_HELD_IDS`, newest first, which the server's catch-up then does not resend.
   */
  handshake(held: readonly { id: string }[]): HandshakeAuth {
    const cursor = this.value;
    if (!cursor) return {};
    const below = new Set<string>();
    for (const id of this.received) if (compareIds(id, cursor) < 0) below.add(id);
    for (const n of held) if (compareIds(n.id, cursor) < 0) below.add(n.id);
    return { cursor, held: [...below].sort((a, b) => compareIds(b, a)).slice(0, MAX_HELD_IDS) };
  }
}
