import { NotificationService, NotificationsGateway } from 'nestjs-inbox';
import { readdirSync } from 'node:fs';
import { DataSource } from 'typeorm';
import { serve } from '../ipc';
import { eventLoop, memory, startInstance, sessionPool, store } from './host';

/** One gateway instance of the fault suite, driven by the test over IPC. */
async function main() {
  const { app, url } = await startInstance();
  const service = app.get(NotificationService);
  const nsp = () => app.get(NotificationsGateway).server;

  serve({
    info: () => ({ url, pid: process.pid }),
    redisUp: () => service.health().redis === 'up',
    subscribe: ({ user, topic }: { user: string; topic: string }) => service.subscribe(user, topic),
    sockets: () => nsp().sockets.size,
    memory,
    eventLoop,
    /** What the process holds: sockets, engine clients, file descriptors, database pools. */
    resources: () => {
      const pool = (app.get(DataSource).driver as any).master;
      const storePool = sessionPool;
      return {
        sockets: nsp().sockets.size,
        engineClients: (nsp() as any).server.engine.clientsCount,
        fds: readdirSync('/proc/self/fd').length,
        typeorm: pool && { total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount },
        sessionStore: storePool && { total: storePool.totalCount, idle: storePool.idleCount, waiting: storePool.waitingCount },
      };
    },
    /** A network blip: every connection's transport closes at once; clients reconnect by themselves. */
    dropAll: () => {
      let n = 0;
      for (const socket of nsp().sockets.values()) {
        socket.conn.close();
        n++;
      }
      return n;
    },
    exit: async () => {
      await app.close();
      await store.close();
      await sessionPool.end();
    },
  });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
