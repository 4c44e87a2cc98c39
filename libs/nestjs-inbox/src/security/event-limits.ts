import type { Socket } from 'socket.io';
import type { ErrorCode } from '../protocol';
import { TokenBucket } from './token-bucket';

export interface EventLimits {
  maxMessageBytes: number;
  eventRateLimit: { burst: number; perSecond: number };
}

/** Why an event was refused; `null` when it may go on to its handler. */
export type Refusal = { code: ErrorCode; message: string } | null;

/**
 * The per-socket event limits: a token bucket, then a size limit. The check is shared by every
 * socket and a socket's bucket is made on its first event, so an idle connection costs nothing
 * (bench: heap per connection); the gateway runs it before any handler.
 */
export function eventLimiter(limits: EventLimits): (socket: Socket, args: unknown[]) => Refusal {
  const buckets = new WeakMap<Socket, TokenBucket>();
  return (socket, args) => {
    let bucket = buckets.get(socket);
    if (!bucket) buckets.set(socket, (bucket = new TokenBucket(limits.eventRateLimit.burst, limits.eventRateLimit.perSecond)));
    if (!bucket.take()) return { code: 'RATE_LIMITED', message: 'too many events; slow down' };
    if (approximateBytes(args, limits.maxMessageBytes) > limits.maxMessageBytes) {
      return { code: 'PAYLOAD_TOO_LARGE', message: `event larger than ${limits.maxMessageBytes} bytes` };
    }
    return null;
  };
}

/**
 * Size of the event's arguments as the client sent them (JSON, binary attachments by length).
 * Stops counting once past `limit`, so a large payload costs no more than the limit to measure.
 */
function approximateBytes(value: unknown, limit: number): number {
  let total = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0 && total <= limit) {
    const v = stack.pop();
    if (typeof v === 'string') total += Buffer.byteLength(v) + 2;
    else if (Buffer.isBuffer(v) || v instanceof ArrayBuffer || ArrayBuffer.isView(v)) total += v.byteLength;
    else if (Array.isArray(v)) {
      total += v.length + 1;
      if (total <= limit) for (const item of v) stack.push(item);
    } else if (v !== null && typeof v === 'object') {
      for (const k in v) {
        if (total > limit) break;
        total += Buffer.byteLength(k) + 4;
        stack.push((v as Record<string, unknown>)[k]);
      }
    } else if (typeof v !== 'function') total += String(v).length;
  }
  return total;
}
