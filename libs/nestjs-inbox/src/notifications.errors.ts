import type { ErrorCode } from './protocol';

/**
 * Every error the library reports to callers and sockets. `code` is stable and goes to the
 * browser in `{ error: { code, message } }`; the message says what was wrong.
 */
export class NotificationsError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'NotificationsError';
  }

  toAck() {
    return { error: { code: this.code, message: this.message } };
  }
}

/** Input that breaks the contract; nothing was stored. */
export class InvalidInputError extends NotificationsError {
  constructor(message: string) {
    super('INVALID_INPUT', message);
    this.name = 'InvalidInputError';
  }
}
