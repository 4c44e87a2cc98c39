import type { NotifyOptions } from '../service/notification.service';

/** Where a notification came in: the Nest service, or a producer in another language. */
export type Door = 'service' | 'sql' | 'amqp' | 'http';

/**
 * The door a producer passes to the service's `notify`/`broadcast`/`publish`, beside the public
 * options. A symbol: it is not part of the host's API, and no host option can collide with it.
 * (An AsyncLocalStorage would say the same without touching the call, but keeping one active
 * makes Node track every promise of the process, a cost every host would pay.)
 */
export const DOOR = Symbol('nestjs-inbox door');

/** `NotifyOptions` as the library's own producers pass them (the service's signature stays `NotifyOptions`). */
export type NotifyThrough = NotifyOptions & { [DOOR]?: Door };

/** The door of a call: `service` unless one of the library's producers said otherwise. */
export function doorOf(opts: NotifyOptions | undefined): Door {
  return (opts as NotifyThrough | undefined)?.[DOOR] ?? 'service';
}
