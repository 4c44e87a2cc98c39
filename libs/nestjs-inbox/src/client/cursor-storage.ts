import { NOTIFICATION_ID_PATTERN } from '../protocol';

/** Where the cursor survives a page reload; `localStorage` fits. */
export type CursorStorage = Pick<Storage, 'getItem' | 'setItem'>;

/**
 * One cursor per user, namespace and scope, so a shared browser never resumes from someone
 * else's, and a workspace never from another's (each scope's catch-up is its own). The
 * unscoped key is the one of clients before scopes, so their stored cursors still count.
 */
export class PersistedCursor {
  private readonly key: string;

  constructor(
    private readonly storage: CursorStorage,
    namespace: string,
    userId: string,
    scope: string | null = null,
  ) {
    const base = `nestjs-inbox:cursor:${namespace}:${userId}`;
    // JSON keeps the user id and the scope apart whatever characters they hold.
    this.key = scope === null ? base : `nestjs-inbox:cursor:${namespace}:${JSON.stringify([userId, scope])}`;
  }

  /** The stored cursor; a malformed value is ignored, since the server refuses it in the handshake. */
  load(): string | undefined {
    try {
      const value = this.storage.getItem(this.key);
      return value && NOTIFICATION_ID_PATTERN.test(value) ? value : undefined;
    } catch {
      return undefined; // storage disabled (private mode, sandboxed frame)
    }
  }

  save(cursor: string): void {
    try {
      this.storage.setItem(this.key, cursor);
    } catch {
      // full or disabled storage: the in-memory cursor still covers reconnects
    }
  }
}
