import type { Type } from '@nestjs/common';
import { WebSocketGateway } from '@nestjs/websockets';
import type { Namespace, Socket } from 'socket.io';
import { NotificationsConfigError } from '../notifications.errors';
import { installedVersion } from './peer-versions';

/**
 * What the library needs of `@nestjs/websockets` beyond its decorators' ordinary use, in one
 * place: a gateway whose namespace is an option, known only once `forRootAsync` resolved.
 */

/**
 * A subclass of the gateway per module registration: gateway options are class metadata, so
 * two registrations with different namespaces in one process must not share a class.
 */
export function gatewayClassFor<T extends Type>(base: T): T {
  return class extends base {};
}

/**
 * Sets the namespace by applying the public `@WebSocketGateway` decorator once the options are
 * known. Nest reads a gateway's options when it binds gateways to the server, after every
 * provider is built, so a constructor is early enough (checked by `assertBoundNamespace`).
 */
export function bindGatewayNamespace(gateway: Type, namespace: string): void {
  WebSocketGateway({ namespace })(gateway);
}

/** Start-up check, in `afterInit`: Nest bound the gateway to the namespace it was given. */
export function assertBoundNamespace(nsp: Namespace, namespace: string): void {
  if (nsp.name === namespace) return;
  throw new NotificationsConfigError(
    `@nestjs/websockets@${installedVersion('@nestjs/websockets') ?? '?'} bound the gateway to '${nsp.name}' ` +
      `instead of '${namespace}': this version sets gateway options in a way nestjs-inbox does not support`,
  );
}

/**
 * Takes the namespace's connections from Nest. For every socket of a gateway Nest builds a
 * `disconnect` Observable chain and a `once('disconnect')` closure, whether or not the gateway
 * has `@SubscribeMessage` handlers: ~2 KB per idle connection (docs/performance.md, bench 5 and
 * 8). The library binds its own events (NotificationsGateway), so it needs none of that. Called
 * in `afterInit`, which Nest runs just before it adds its `connection` listener (synchronously,
 * on Nest 11 and 12): `onConnection` is added now, and on the next tick every `connection`
 * listener added since (Nest's) is removed. Should a Nest version bind later, its listener
 * stays and costs its memory; nothing runs twice, since the gateway has no `handleConnection`.
 */
export function takeConnections(nsp: Namespace, onConnection: (socket: Socket) => void): void {
  nsp.on('connection', onConnection);
  const ours = new Set(nsp.listeners('connection'));
  process.nextTick(() => {
    for (const listener of nsp.listeners('connection')) if (!ours.has(listener)) nsp.off('connection', listener as never);
  });
}
