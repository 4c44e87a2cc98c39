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

/**
 * A session source's definite "no": no cookie, a bad signature, an unknown or ended session.
 * Its message goes to the browser in `connect_error`, so it names the reason and never a secret.
 */
export class SessionRejectedError extends NotificationsError {
  constructor(reason: string) {
    super('UNAUTHORIZED', `unauthorized: ${reason}`);
    this.name = 'SessionRejectedError';
  }
}

/**
 * Start-up error: options that cannot work, or a platform the library does not support. Its
 * message says what to change. It is thrown while the app boots, never from a request.
 */
export class NotificationsConfigError extends Error {
  constructor(message: string) {
    super(`nestjs-inbox: ${message}`);
    this.name = 'NotificationsConfigError';
  }
}
