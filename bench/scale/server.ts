import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { parse as parseCookie } from 'cookie';
import { NotificationsGateway, NotificationService, NotificationsModule, SessionSource } from 'nestjs-inbox';
import type { Logger as TypeOrmLogger } from 'typeorm';
import { now } from '../lib/clock';
import { serve } from '../lib/ipc';

/**
 * The host app of the scale bench: one instance, as a user writes it (TypeORM +
 * NotificationsModule with its defaults), in its own process, driven by bench/scale/run.ts over
 * IPC. It knows nothing of the tables: it calls NotificationService, and its TypeORM logger
 * can record the SQL the library sends for one call (for EXPLAIN), whatever that SQL is.
 */
const { DATABASE_URL, ORIGIN } = process.env as Record<string, string>;

/** The cheapest session source there is (as bench/servers/library-server.ts): the `uid` cookie. */
const cookieUser: SessionSource = (handshake) => {
  const uid = parseCookie(handshake.headers.cookie ?? '').uid;
  return uid ? { userId: uid } : null;
};

export interface CapturedQuery {
  query: string;
  parameters: unknown[];
}

/** Which of a user's notifications an operation by ids takes (see idsOf). */
export type IdSpec = { page: number } | { newest: ('direct' | 'shared')[]; directTypes: string[] };

/** One service call of an operation: `arg`, or the ids `ids` names for the user at hand. */
export interface Step {
  call: string;
  arg?: unknown;
  ids?: IdSpec;
}

/** Records the statements run through the DataSource while armed; silent otherwise. */
class CaptureLogger implements TypeOrmLogger {
  captured: CapturedQuery[] | null = null;
  logQuery(query: string, parameters?: unknown[]) {
    this.captured?.push({ query, parameters: parameters ?? [] });
  }
  logQueryError(error: string | Error, query: string) {
    console.error(`scale server: query failed: ${error instanceof Error ? error.message : error}\n${query.slice(0, 300)}`);
  }
  logQuerySlow() {}
  logSchemaBuild() {}
  logMigration() {}
  log() {}
}
const sqlLog = new CaptureLogger();

@Module({
  imports: [
    TypeOrmModule.forRoot({ type: 'postgres', url: DATABASE_URL, extra: { max: 10 }, logger: sqlLog }),
    NotificationsModule.forRoot({
      session: cookieUser,
      allowedOrigins: [ORIGIN],
      // Changed from the defaults: let browsers subscribe, and open a socket in any scope (the
      // defaults refuse both); log the statements' values (see below).
      canSubscribe: () => true,
      canAccessScope: () => true,
      // The SQL logger below maps one user's statements onto another's by their values (user ids, scopes, ids).
      logQueryParameters: true,
    }),
  ],
})
class HostModule {}

const TITLE = 'New comment on your post';
const BODY = 'Alice replied: "Looks good to me, shipping it after lunch."';

async function main() {
  const app = await NestFactory.create(HostModule, { logger: ['error', 'warn'] });
  app.enableShutdownHooks();
  await app.listen(0, '127.0.0.1');
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  const service = app.get(NotificationService);
  const nsp = app.get(NotificationsGateway).server;

  /** Times `run` once per user, one after the other (nothing else runs meanwhile). */
  const timeEach = async (users: string[], run: (user: string) => Promise<unknown>) => {
    const ms: number[] = [];
    for (const u of users) {
      const t = now();
      await run(u);
      ms.push(now() - t);
    }
    return ms;
  };

  /** The scope option of a call: none for the unscoped inbox (the calls as they were before scopes). */
  const opt = (scope?: string) => (scope === undefined ? undefined : { scope });
  const calls: Record<string, (user: string, arg?: any, scope?: string) => Promise<unknown>> = {
    unreadCount: (u, _, sc) => service.unreadCount(u, opt(sc)),
    list: (u, q, sc) => service.list(u, { ...(q ?? {}), ...opt(sc) }),
    markAllRead: (u, _, sc) => service.markAllRead(u, opt(sc)),
    markRead: (u, ids, sc) => service.markRead(u, ids, opt(sc)),
    counts: (u, views, sc) => service.counts(u, views, opt(sc)),
    badge: (u, _, sc) => service.badge(u, opt(sc)),
    markSeen: (u, which, sc) => service.markSeen(u, which, opt(sc)),
    archive: (u, which, sc) => service.archive(u, which, opt(sc)),
    unarchive: (u, which, sc) => service.unarchive(u, which, opt(sc)),
    remove: (u, which, sc) => service.remove(u, which, opt(sc)),
    getPreferences: (u, _, sc) => service.getPreferences(u, opt(sc)),
    setPreferences: (u, prefs, sc) => service.setPreferences(u, prefs, opt(sc)),
  };

  /**
   * The ids an operation by ids takes, found through `list` as a client finds them (not timed):
   * `page` the first `n` of the inbox; `newest` the newest direct and/or shared one (a broadcast
   * or publication) in the inbox, in that order (the direct one among `directTypes`).
   */
  const idsOf = async (u: string, spec: IdSpec, scope?: string): Promise<string[]> => {
    if ('page' in spec) return (await service.list(u, { limit: spec.page, ...opt(scope) })).items.map((n) => n.id);
    const ids: string[] = [];
    for (const kind of spec.newest) {
      const items =
        kind === 'direct'
          ? (await service.list(u, { limit: 1, filter: { type: spec.directTypes }, ...opt(scope) })).items
          : (await service.list(u, { limit: 100, ...opt(scope) })).items.filter((n) => n.broadcast || n.topic !== null);
      if (items.length === 0) throw new Error(`${u}: no ${kind} notification in the inbox`);
      ids.push(items[0].id);
    }
    return ids;
  };
  /** A step's argument: its ids resolved for `u` (in `scope`) when it takes ids. */
  const argOf = async (u: string, step: Step, scope?: string) => (step.ids ? await idsOf(u, step.ids, scope) : step.arg);

  serve({
    info: () => ({ url }),
    sockets: () => nsp.sockets.size,
    /** Service calls (in `scope`, if any), timed in this process: `{ ms: number[] }`. */
    time: async ({ call, users, arg, scope }: { call: string; users: string[]; arg?: unknown; scope?: string }) => ({
      ms: await timeEach(users, (u) => calls[call](u, arg, scope)),
    }),
    /** `count` direct notifications to `user`, one call each; returns their ids, oldest first. */
    notify: async ({ user, count }: { user: string; count: number }) => {
      const ids: string[] = [];
      for (let i = 0; i < count; i++) {
        const [n] = await service.notify(user, { type: 'comment', title: TITLE, body: BODY, data: { seq: i } });
        ids.push(n.id);
      }
      return ids;
    },
    /** A broadcast stamped with its send time on the clock every process shares. */
    broadcast: async ({ marker }: { marker: number }) => {
      const t0 = now();
      const n = await service.broadcast({
        type: 'announcement',
        title: 'Scheduled maintenance on Sunday night',
        body: 'The site will be read-only for about 20 minutes from 02:00 UTC while we upgrade the database.',
        data: { t0, marker },
      });
      return { t0, id: n!.id, storedMs: now() - t0 };
    },
    /**
     * Operations of one or more steps (service calls one after the other), per user: each
     * step's ids resolved first (not timed), then the call timed. `{ ms: number[][] }`: per user,
     * per step.
     */
    timeSteps: async ({ users, steps, scope }: { users: string[]; steps: Step[]; scope?: string }) => {
      const ms: number[][] = [];
      for (const u of users) {
        const row: number[] = [];
        for (const step of steps) {
          const arg = await argOf(u, step, scope);
          const t = now();
          await calls[step.call](u, arg, scope);
          row.push(now() - t);
        }
        ms.push(row);
      }
      return { ms };
    },
    /** The ids `spec` names for `user` (for mapping one user's statements onto another's). */
    ids: ({ user, spec, scope }: { user: string; spec: IdSpec; scope?: string }) => idsOf(user, spec, scope),
    /** Runs the steps for `user` (in `scope`) with the SQL log armed: the statements, and each step's argument. */
    captureSteps: async ({ user, steps, scope }: { user: string; steps: Step[]; scope?: string }) => {
      const args: unknown[] = [];
      for (const step of steps) args.push(await argOf(user, step, scope));
      sqlLog.captured = [];
      try {
        for (const [i, step] of steps.entries()) await calls[step.call](user, args[i], scope);
        return { captured: sqlLog.captured, args };
      } finally {
        sqlLog.captured = null;
      }
    },
    /** Arms the SQL log; `captureStop` returns what the library ran meanwhile. */
    captureStart: () => {
      sqlLog.captured = [];
    },
    captureStop: () => {
      const c = sqlLog.captured ?? [];
      sqlLog.captured = null;
      return c;
    },
    /** Runs a service call with the SQL log armed: the statements it ran. */
    capture: async ({ call, user, arg, scope }: { call: string; user: string; arg?: unknown; scope?: string }) => {
      sqlLog.captured = [];
      try {
        await calls[call](user, arg, scope);
        return sqlLog.captured;
      } finally {
        sqlLog.captured = null;
      }
    },
    exit: () => app.close(),
  });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
