import { Logger } from '@nestjs/common';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { handshakeRequest, requestedSessionId, type Engine } from '../compat/engine-io.compat';

/** What the rule reads of a request: its headers, and whether it came over TLS to this process. */
export interface OriginRequest {
  headers: IncomingHttpHeaders;
  secure: boolean;
}

/** Why the rule refuses a request (the `connect_error` message), or `null` to let it through. */
export type OriginCheck = (request: OriginRequest) => string | null;

/** Distinct refused origins logged per registration; past this an attacker's variety stops costing log lines. */
const MAX_LOGGED_ORIGINS = 100;

/**
 * The one Origin rule of every door of the gateway (handshake over polling, over WebSocket, and
 * the upgrade of a polling session), so a page is never accepted on one transport and refused on
 * another. An `Origin` is allowed when it is in `allowedOrigins`, or when its host and port are
 * the request's own `Host` header: the browser sets both, a page cannot forge `Host`, and it
 * attaches only that host's cookies, so such a page is the site itself (whatever name it was
 * opened by). `X-Forwarded-Host` is not read: any client may send it, and whether a proxy in
 * front overwrites it is invisible from here; behind a proxy that rewrites `Host`, list the
 * public origin instead. Without `Origin` (non-browser clients, same-origin polling) the request
 * passes unless `requireOrigin`. Each refused origin is logged once, naming the option to change.
 */
export function originRule(options: { allowedOrigins: readonly string[]; requireOrigin: boolean }): OriginCheck {
  const allowed = new Set(options.allowedOrigins);
  const logger = new Logger('NotificationsModule');
  const logged = new Set<string>();

  const refuse = (origin: string, host: string | undefined, message: string, advice: string): string => {
    if (logged.size < MAX_LOGGED_ORIGINS && !logged.has(origin)) {
      logged.add(origin);
      logger.warn(`refused a socket: ${message} (Host: ${JSON.stringify(String(host ?? '').slice(0, 100))}); ${advice}`);
    }
    return message;
  };

  return ({ headers, secure }) => {
    const origin = headers.origin;
    if (origin === undefined || origin === '') {
      if (!options.requireOrigin) return null;
      const advice =
        "browsers omit it on same-origin polling: connect such pages with `transports: ['websocket']`, or set `requireOrigin: false`";
      return refuse('', headers.host, 'origin required: the request has no Origin header', advice);
    }
    if (allowed.has(origin) || sameHost(origin, headers.host, secure)) return null;
    const shown = origin.slice(0, 100);
    const advice = `if the site's pages are served from ${JSON.stringify(shown)}, add it to \`allowedOrigins\``;
    return refuse(shown, headers.host, `origin not allowed: ${shown}`, advice);
  };
}

/**
 * Whether `origin` names the host and port the request was sent to. Over TLS to this process an
 * `http:` page is not the site (a network attacker may write it); over plain HTTP the scheme is
 * not known (a TLS-terminating proxy may be in front), so only host and port are compared.
 */
export function sameHost(origin: string, host: string | undefined, secure: boolean): boolean {
  if (!host) return false;
  let page: URL;
  try {
    page = new URL(origin);
  } catch {
    return false; // `null` (sandboxed frames, file:) and other opaque origins
  }
  if (page.protocol !== 'https:' && (page.protocol !== 'http:' || secure)) return false;
  if (page.origin !== origin) return false; // a path, credentials, upper case: not an origin a browser sends
  let target: URL;
  try {
    // Parsed the same way, so `example.com:443` equals `https://example.com`.
    target = new URL(`${page.protocol}//${host}`);
  } catch {
    return false;
  }
  // `Host` is a bare host[:port]: credentials or a path in it would be parsed away.
  if (target.username || target.password || target.pathname !== '/' || target.search || target.hash) return false;
  return target.host === page.host;
}

/**
 * Holds the WebSocket upgrade of a polling session to the rule its handshake passed. Engine.io
 * runs `allowRequest` only for handshakes, and Socket.IO middleware reads the handshake's
 * headers only, so without this the upgrade's own `Origin` is never looked at. An upgrade is
 * refused when its request fails the rule and the session's handshake passed it: a session the
 * rule refused never reaches this namespace, and the host's other namespaces on the same engine
 * keep their own rules. The client then stays on polling (see `InboxClient.transport`).
 */
export function checkUpgrades(engine: Engine, check: OriginCheck): void {
  engine.use((req: IncomingMessage, _res: unknown, next: (err?: Error) => void) => {
    if (!req.headers.upgrade) return next();
    const sid = requestedSessionId(req);
    const handshake = sid ? handshakeRequest(engine, sid) : undefined;
    if (!handshake || check({ headers: handshake.headers, secure: isSecure(handshake) }) !== null) return next();
    const refused = check({ headers: req.headers, secure: isSecure(req) });
    next(refused === null ? undefined : new Error(refused));
  });
}

function isSecure(req: IncomingMessage): boolean {
  return !!(req.socket as { encrypted?: boolean } | undefined)?.encrypted;
}
