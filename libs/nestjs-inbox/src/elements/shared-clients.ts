import { InboxClient, type InboxOptions } from '../client/inbox-client';

export interface ClientAddress {
  url: string | null;
  namespace: string | null;
  scope: string | null;
}

interface Shared {
  client: InboxClient;
  users: number;
}

/** One client (one socket) per server, namespace and scope, shared by every element on the page. */
const clients = new Map<string, Shared>();

function options({ url, namespace, scope }: ClientAddress): InboxOptions {
  const options: InboxOptions & { scope?: string } = {};
  if (url) options.url = url;
  if (namespace) options.namespace = namespace;
  // The scope option of the client (tenants); read by clients that know it.
  if (scope) options.scope = scope;
  // The gateway sends no CORS headers, so long-polling to another origin cannot work: a page
  // talking to a server elsewhere goes straight to WebSocket (the Origin rule still applies).
  if (url && new URL(url, location.href).origin !== location.origin) options.socket = { transports: ['websocket'] };
  return options;
}

export interface ClientLease {
  client: InboxClient;
  release(): void;
}

/**
 * A client for `address`: the one shared on the page, or with an `owner` (an id of the caller's)
 * one of the caller's own. A client holds one view (`list(filter)`), so each feed needs its own;
 * the bell (and the feed in its popover) and the preferences share.
 */
export function acquireClient(address: ClientAddress, owner?: string): ClientLease {
  const key = `${owner ?? ''}|${JSON.stringify(address)}`;
  let shared = clients.get(key);
  if (!shared) clients.set(key, (shared = { client: new InboxClient(options(address)), users: 0 }));
  shared.users++;
  const lease = shared;
  return { client: lease.client, release: () => release(key, lease) };
}

function release(key: string, lease: Shared): void {
  if (--lease.users > 0) return;
  // A framework often moves an element (detach, attach) within one task: close only if it stays gone.
  setTimeout(() => {
    if (lease.users > 0 || clients.get(key) !== lease) return;
    clients.delete(key);
    lease.client.close();
  });
}
