import type { Event, ExtendedError, Socket } from 'socket.io';
import { ServerEvent } from '../notifications.constants';
import type { ErrorCode } from '../protocol';
import { TokenBucket } from './token-bucket';

export interface EventLimits {
  maxMessageBytes: number;
  eventRateLimit: { burst: number; perSecond: number };
}

/**
 * Namespace middleware that puts a per-socket packet filter in front of every event handler:
 * a token bucket, then a size limit. A refused event answers its ack (or, without one, a
 * `notifications:error` event) with the code, and never reaches a handler.
 */
export function eventLimits(limits: EventLimits) {
  return (socket: Socket, next: (err?: ExtendedError) => void): void => {
    const bucket = new TokenBucket(limits.eventRateLimit.burst, limits.eventRateLimit.perSecond);
    socket.use((packet, nextPacket) => {
      if (!bucket.take()) {
        return refuse(socket, packet, 'RATE_LIMITED', 'too many events; slow down');
      }
      const size = approximateBytes(packet.slice(1), limits.maxMessageBytes);
      if (size > limits.maxMessageBytes) {
        return refuse(socket, packet, 'PAYLOAD_TOO_LARGE', `event larger than ${limits.maxMessageBytes} bytes`);
      }
      nextPacket();
    });
    next();
  };
}

function refuse(socket: Socket, packet: Event, code: ErrorCode, message: string): void {
  const ack = packet[packet.length - 1];
  if (typeof ack === 'function') ack({ error: { code, message } });
  else socket.emit(ServerEvent.Error, { code, message });
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
