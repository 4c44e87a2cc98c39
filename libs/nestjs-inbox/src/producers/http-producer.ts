import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { InjectNotificationsOptions } from '../notifications.decorators';
import { NotificationsConfigError, NotificationsError } from '../notifications.errors';
import type { ResolvedHttpOptions, ResolvedNotificationsOptions } from '../notifications.options';
import { statementRefusal } from '../persistence/postgres-errors';
import type { ErrorCode } from '../protocol';
import { NotificationService } from '../service/notification.service';
import { decodeProducerJson, dispatchProducerMessage, parseProducerMessage } from './producer-message';
import { checkSignature, readSignatureHeader, SIGNATURE_HEADER } from './request-signature';

type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

/** A refusal whose status has no code of its own in `HTTP_STATUS_OF` (405, 415). */
class Refusal extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/**
 * The `http` option's door: `POST <path>` with the producer JSON, signed with `X-Inbox-Signature`.
 *
 * The HMAC is over the bytes the producer sent, and Nest's Express platform parses every JSON
 * body in its global body parser before any route, middleware or guard of a module runs (the
 * raw bytes are kept only if the host passes `rawBody: true`). So the path is served on the
 * app's HTTP server ahead of the framework, the way Socket.IO serves `/socket.io/`: the listener
 * takes the requests for this exact path and hands every other request to the listeners that
 * were there (Express or Fastify), untouched. It works whatever the host's body-parser options.
 */
@Injectable()
export class HttpProducer implements OnModuleInit {
  private readonly logger = new Logger('NotificationsModule');

  constructor(
    @InjectNotificationsOptions() private readonly options: ResolvedNotificationsOptions,
    private readonly service: NotificationService,
    private readonly adapterHost: HttpAdapterHost,
  ) {}

  onModuleInit(): void {
    const http = this.options.http;
    if (!http) return;
    // `getHttpServer` exists on every Nest HTTP adapter; an application context has no adapter.
    const server = this.adapterHost.httpAdapter?.getHttpServer?.() as Server | undefined;
    if (!server || typeof server.listeners !== 'function') {
      throw new NotificationsConfigError(
        'the `http` option serves an endpoint on the HTTP server of a Nest application (NestFactory.create); ' +
          'this one has none (NestFactory.createApplicationContext). Remove `http` here or create an HTTP app.',
      );
    }
    serveAhead(server, http.path, (req, res) => void this.handle(http, req, res));
  }

  private async handle(http: ResolvedHttpOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const ids = await this.accept(http, req);
      reply(res, 201, { ids });
    } catch (err) {
      if (err instanceof Refusal) {
        reply(res, err.status, { statusCode: err.status, code: err.code, message: err.message }, err.headers);
      } else if (err instanceof NotificationsError && err.code !== 'INTERNAL') {
        reply(res, err.getStatus(), { statusCode: err.getStatus(), code: err.code, message: err.message });
      } else if (statementRefusal(err) !== undefined) {
        // Postgres refused these rows for a reason a retry does not change: not "retry later",
        // or a retrying producer loops (data it cannot hold is 400 already, see asInputError).
        this.logger.warn(`http producer: refused by the database: ${(err as Error).message}`);
        reply(res, 500, { statusCode: 500, code: 'INTERNAL', message: `not stored: the database refused it (${statementRefusal(err)})` });
      } else {
        // The store is away or failed: 503 tells the producer to retry; with a dedupeKey a
        // retry of a request that did commit stores nothing twice.
        this.logger.warn(`http producer: not stored: ${(err as Error).message}`);
        reply(res, 503, {
          statusCode: 503,
          code: 'UNAVAILABLE',
          message: 'not stored: the notification store is unavailable, retry later',
        });
      }
    }
  }

  /**
   * Checks in order of cost: method, type, signature header and age, size, all before a byte of
   * the body is read; then the body within `bodyTimeoutMs`, the HMAC, JSON, fields.
   */
  private async accept(http: ResolvedHttpOptions, req: IncomingMessage): Promise<string[]> {
    if (req.method !== 'POST') throw new Refusal(405, 'INVALID_INPUT', `method: ${req.method} is not allowed, use POST`, { allow: 'POST' });
    const [type, ...params] = (req.headers['content-type'] ?? '').split(';').map((p) => p.trim().toLowerCase());
    const charset = params
      .find((p) => p.startsWith('charset='))
      ?.slice('charset='.length)
      .replace(/"/g, '');
    if (type !== 'application/json' || (charset !== undefined && charset !== 'utf-8')) {
      throw new Refusal(415, 'INVALID_INPUT', `content-type: must be application/json (UTF-8), got '${req.headers['content-type'] ?? ''}'`);
    }
    const claim = readSignatureHeader(req.headers[SIGNATURE_HEADER]);
    const declared = Number(req.headers['content-length']);
    if (declared > http.maxBodyBytes) throw tooLarge(http.maxBodyBytes);
    const body = await readBody(req, http.maxBodyBytes, http.bodyTimeoutMs);
    checkSignature(claim, http.secret, body);
    const message = parseProducerMessage(decodeProducerJson(body));
    return dispatchProducerMessage(this.service, message, 'http');
  }
}

/**
 * Puts `handle` in front of the server's request listeners for one path, as engine.io attaches
 * itself; the other requests go to the listeners that were there, in their order.
 */
function serveAhead(server: Server, path: string, handle: RequestListener): void {
  const others = server.listeners('request') as RequestListener[];
  server.removeAllListeners('request');
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '';
    const query = url.indexOf('?');
    if ((query === -1 ? url : url.slice(0, query)) === path) handle(req, res);
    else for (const listener of others) listener.call(server, req, res);
  });
}

const tooLarge = (max: number) => new NotificationsError('PAYLOAD_TOO_LARGE', `body: larger than ${max} bytes (http.maxBodyBytes)`);

/**
 * The body, refused as soon as it passes `max` (a chunked body declares no length), or when it
 * has not ended `timeoutMs` after it was asked for: a deadline, not an idle timeout, which a
 * byte a second would keep alive.
 */
function readBody(req: IncomingMessage, max: number, timeoutMs: number): Promise<Buffer> {
  let timer: NodeJS.Timeout | undefined;
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    timer = setTimeout(() => {
      over = true;
      chunks.length = 0;
      // Answered with `connection: close` (the body is unread): the socket goes with the reply.
      reject(new Refusal(408, 'INVALID_INPUT', `body: not received within ${timeoutMs} ms (http.bodyTimeoutMs)`));
    }, timeoutMs);
    req.on('data', (chunk: Buffer) => {
      if (over) return; // drained, not kept, so the client can read the 413
      size += chunk.length;
      if (size > max) {
        over = true;
        chunks.length = 0;
        reject(tooLarge(max));
      } else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
    req.on('close', () => reject(new Error('the client closed the request before its body ended')));
  }).finally(() => clearTimeout(timer));
}

function reply(res: ServerResponse, status: number, body: object, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  const json = JSON.stringify(body);
  const unread = !res.req.complete;
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(json),
    'cache-control': 'no-store',
    // Refused before its body was read: the rest is discarded and the connection not reused.
    ...(unread ? { connection: 'close' } : {}),
    ...headers,
  });
  res.end(json);
  if (unread) res.req.resume();
}
