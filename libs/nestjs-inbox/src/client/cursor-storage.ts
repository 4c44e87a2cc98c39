import { NOTIFICATION_ID_PATTERN } from '../protocol';

/** Where the cursor survives a page reload; `localStorage` fits. */
export type CursorStorage = Pick<Storage, 'getItem' | 'setItem'>;

/** One cursor per user and namespace, so a shared browser never resumes from someone else's. */
export class PersistedCursor {
  private readonly key: string;

  constructor(
    private readonly storage: CursorStorage,
    namespace: string,
    userId: string,
  ) {
    this.key = `nestjs-inbox:cursor:${namespace}:${userId}`;
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
