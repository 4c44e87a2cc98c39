import { HttpException } from '@nestjs/common';
import type { ErrorCode } from './protocol';

/** The HTTP status each code answers with when the error escapes a host's controller. */
export const HTTP_STATUS_OF: Readonly<Record<ErrorCode, number>> = {
  INVALID_INPUT: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  PAYLOAD_TOO_LARGE: 413,
  RATE_LIMITED: 429,
  TOO_MANY_CONNECTIONS: 429,
  UNAVAILABLE: 503,
  INTERNAL: 500,
};

/**
 * Every error the library reports to callers and sockets. `code` is stable and goes to the
 * browser in `{ error: { code, message } }`; the message says what was wrong. It is an
 * `HttpException`, so a host controller that lets it escape answers with its status (400 for
 * bad input, 503 when a dependency is away, …) and `{ statusCode, code, message }`, the way
 * Nest's own exceptions do, instead of a bare 500.
 */
export class NotificationsError extends HttpException {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super({ statusCode: HTTP_STATUS_OF[code], code, message }, HTTP_STATUS_OF[code]);
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
