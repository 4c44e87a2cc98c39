import { HttpException } from '@nestjs/common';
import { InvalidInputError, NotificationsError, SessionRejectedError } from './notifications.errors';

describe('NotificationsError', () => {
  it.each([
    ['INVALID_INPUT', 400],
    ['UNAUTHORIZED', 401],
    ['FORBIDDEN', 403],
    ['PAYLOAD_TOO_LARGE', 413],
    ['RATE_LIMITED', 429],
    ['UNAVAILABLE', 503],
    ['INTERNAL', 500],
  ] as const)('%s answers HTTP %i with its code and message', (code, status) => {
    const err = new NotificationsError(code, 'what went wrong');
    expect(err).toBeInstanceOf(HttpException);
    expect(err.getStatus()).toBe(status);
    expect(err.getResponse()).toEqual({ statusCode: status, code, message: 'what went wrong' });
    expect(err.message).toBe('what went wrong');
    expect(err.toAck()).toEqual({ error: { code, message: 'what went wrong' } });
  });

  it('keeps the subclasses’ names and codes', () => {
    expect(new InvalidInputError('type: required')).toMatchObject({ name: 'InvalidInputError', code: 'INVALID_INPUT' });
    expect(new SessionRejectedError('no cookie').getStatus()).toBe(401);
  });
});
