import type { ErrorCode } from '../protocol';

/** Codes of the server's acks, plus `TIMEOUT` when no ack came in time. */
export type InboxErrorCode = ErrorCode | 'TIMEOUT';

/** What the client's promises reject with: the server's `{ error: { code, message } }`. */
export class InboxError extends Error {
  constructor(
    readonly code: InboxErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'InboxError';
  }
}
