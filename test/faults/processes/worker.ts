import { NotificationService, type StoredNotification } from 'nestjs-inbox';
import { DataSource } from 'typeorm';
import { push, serve } from '../ipc';
import { type CallKind, type CallRecord, random, type StoredRow, type StreamSpec, type StreamSummary } from '../stream';
import { memory, startWorker, sessionPool, store } from './host';

/**
 * The producer-only worker (`gateway: false`, on Redis): calls `notify`, `broadcast` and
 * `publish` at a steady rate and reports to the test, per call, whether it returned (with the
 * stored ids and recipients) or threw.
 */
async function main() {
  const ctx = await startWorker();
  const service = ctx.get(NotificationService);
  const dataSource = ctx.get(DataSource);

  let stream: ReturnType<typeof run> | null = null;
  serve({
    info: () => ({ pid: process.pid }),
    redisUp: () => service.health().redis === 'up',
    subscribe: ({ user, topic }: { user: string; topic: string }) => service.subscribe(user, topic),
    memory,
    start: (spec: StreamSpec) => {
      if (stream) throw new Error('a stream is already running');
      stream = run(spec);
      return null;
    },
    /** Sends what is reported so far, so the test's ledger is current. */
    flush: () => stream?.flush() ?? null,
    stats: () => stream?.stats() ?? null,
    stop: async ({ timeoutMs }: { timeoutMs: number }) => {
      if (!stream) throw new Error('no stream');
      const s = stream;
      stream = null;
      return s.stop(timeoutMs);
    },
    exit: async () => {
      await ctx.close();
      await store.close();
      await sessionPool.end();
    },
  });

  function run(spec: StreamSpec) {
    const rnd = random(spec.seed);
    const kinds = Object.entries(spec.mix) as [CallKind, number][];
    const totalWeight = kinds.reduce((s, [, w]) => s + w, 0);
    const pick = <T>(list: T[]) => list[Math.floor(rnd() * list.length)];
    const kindOf = () => {
      let x = rnd() * totalWeight;
      for (const [kind, w] of kinds) if ((x -= w) < 0) return kind;
      return kinds[kinds.length - 1][0];
    };
    const pending = new Map<number, { kind: CallKind; issuedAt: number; done: Promise<void> }>();
    let outbox: CallRecord[] = [];
    const counts = { issued: 0, committed: 0, failed: 0, rolledBack: 0 };
    let openHeld = 0;
    const flush = () => {
      if (outbox.length) push('calls', outbox);
      outbox = [];
    };
    const flusher = setInterval(flush, 50);

    const rowsOf = (stored: StoredNotification[]): StoredRow[] =>
      stored.map((n) => ({ id: n.id, userId: n.userId, topic: n.topic, broadcast: n.broadcast }));

    const call = (seq: number) => {
      const kind = kindOf();
      const held = !!spec.held && openHeld < spec.held.maxOpen && rnd() < spec.held.share;
      const rollback = held && rnd() < spec.held!.rollback;
      const holdMs = held ? spec.held!.minMs + rnd() * (spec.held!.maxMs - spec.held!.minMs) : 0;
      const record: CallRecord = { seq, kind, held, issuedAt: Date.now(), settledAt: 0, outcome: 'failed', rows: [] };
      const input = { type: kind, title: `#${seq}`, data: { seq } };
      if (kind === 'notify') {
        const n = 1 + Math.floor(rnd() * spec.maxRecipients);
        record.to = [...new Set(Array.from({ length: n }, () => pick(spec.users)))];
      } else if (kind === 'publish') {
        record.topic = pick(spec.topics);
      }
      const send = (manager?: any): Promise<StoredRow[]> => (spec.door === 'sql' ? sendSql(manager) : sendService(manager).then(rowsOf));
      /** The SQL door's function, then what it stored (its ids, read back on the same connection). */
      const sendSql = async (manager?: any): Promise<StoredRow[]> => {
        const q = (text: string, params: unknown[]) => (manager ?? dataSource).query(text, params);
        const n = JSON.stringify(input);
        const [{ ids }] =
          kind === 'notify'
            ? await q(`SELECT inbox_notify($1::text[], $2::jsonb)::text[] AS ids`, [record.to, n])
            : kind === 'publish'
              ? await q(`SELECT inbox_publish($1, $2::jsonb)::text[] AS ids`, [record.topic, n])
              : await q(`SELECT inbox_broadcast($1::jsonb)::text[] AS ids`, [n]);
        const rows: { id: string; user_id: string | null; topic: string | null }[] = await q(
          `SELECT id::text, user_id, topic FROM inbox_notification WHERE id = ANY($1::bigint[]) ORDER BY id`,
          [ids],
        );
        return rows.map((r) => ({ id: r.id, userId: r.user_id, topic: r.topic, broadcast: r.user_id === null && r.topic === null }));
      };
      const sendService = (manager?: any): Promise<StoredNotification[]> => {
        const opts = manager ? { manager } : undefined;
        if (kind === 'notify') return service.notify(record.to!, input, opts);
        const one = kind === 'publish' ? service.publish(record.topic!, input, opts) : service.broadcast(input, opts);
        return one.then((n) => (n ? [{ ...n }] : []));
      };
      const attempt = async () => {
        if (!held) {
          record.rows = await send();
          record.outcome = 'committed';
          return;
        }
        openHeld++;
        const runner = dataSource.createQueryRunner();
        try {
          await runner.connect();
          await runner.startTransaction();
          record.rows = await send(runner.manager);
          await new Promise((r) => setTimeout(r, holdMs));
          if (rollback) {
            await runner.rollbackTransaction();
            record.outcome = 'rolled-back';
          } else {
            await runner.commitTransaction();
            record.outcome = 'committed';
          }
        } catch (err) {
          if (runner.isTransactionActive) await runner.rollbackTransaction().catch(() => undefined);
          throw err;
        } finally {
          openHeld--;
          await runner.release().catch(() => undefined);
        }
      };
      counts.issued++;
      const done = attempt().then(
        () => undefined,
        (err: Error) => {
          record.outcome = 'failed';
          record.error = `${err?.constructor?.name ?? 'Error'}: ${err?.message ?? String(err)}`;
        },
      );
      pending.set(seq, {
        kind,
        issuedAt: record.issuedAt,
        done: done.then(() => {
          record.settledAt = Date.now();
          pending.delete(seq);
          if (record.outcome === 'committed') counts.committed++;
          else if (record.outcome === 'failed') counts.failed++;
          else counts.rolledBack++;
          outbox.push(record);
        }),
      });
    };

    const start = Date.now();
    let seq = 0;
    const ticker = setInterval(() => {
      const due = Math.floor(((Date.now() - start) / 1000) * spec.rate) + 1;
      for (; seq < due; seq++) call(seq);
    }, 5);

    return {
      flush,
      stats: () => ({ ...counts, pending: pending.size, openHeld }),
      stop: async (timeoutMs: number): Promise<StreamSummary> => {
        clearInterval(ticker);
        const deadline = new Promise((r) => setTimeout(r, timeoutMs));
        await Promise.race([Promise.all([...pending.values()].map((p) => p.done)), deadline]);
        clearInterval(flusher);
        flush();
        return {
          ...counts,
          hung: [...pending.entries()].map(([s, p]) => ({ seq: s, kind: p.kind, issuedAt: p.issuedAt })),
        };
      },
    };
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
