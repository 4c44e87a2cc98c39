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

export function acquireClient(address: ClientAddress): InboxClient {
  const key = JSON.stringify(address);
  let shared = clients.get(key);
  if (!shared) clients.set(key, (shared = { client: new InboxClient(options(address)), users: 0 }));
  shared.users++;
  return shared.client;
}

export function releaseClient(address: ClientAddress): void {
  const key = JSON.stringify(address);
  const shared = clients.get(key);
  if (!shared || --shared.users > 0) return;
  // A framework often moves an element (detach, attach) within one task: close only if it stays gone.
  setTimeout(() => {
    if (shared.users > 0 || clients.get(key) !== shared) return;
    clients.delete(key);
    shared.client.close();
  });
}
