import type { BroadcastAudienceContext } from 'nestjs-inbox';
import { ChannelPlanner, PLAN_BATCH } from '../../libs/nestjs-inbox/src/channels/channel-planner';
import { migrate, startApp, type TestApp } from '../support/app';
import { createDatabase } from '../support/database';
import { startSmtp, type TestSmtp } from '../support/smtp';

const FROM = 'Acme <no-reply@acme.example>';
/** Planned for later: these tests look at what is planned, not at what is sent. */
const LATER = { email: { after: 3_600_000 } };

describe('channels: the audience of a broadcast or a publication', () => {
  let db: Awaited<ReturnType<typeof createDatabase>>;
  let smtp: TestSmtp;
  let t: TestApp;
  /** What the host's hook does, set per test; and what it was asked. */
  let hook: (ctx: BroadcastAudienceContext) => AsyncIterable<string | string[]>;
  const asked: BroadcastAudienceContext[] = [];
  const q = <T>(sql: string, params: unknown[] = []) => t.dataSource.query(sql, params) as Promise<T[]>;
  const plannedFor = async (id: string) =>
    (
      await q<{ user_id: string; scope: string; channel: string }>(
        `SELECT user_id, scope, channel FROM inbox_channel_send WHERE notification_id = $1`,
        [id],
      )
    ).map((r) => `${r.user_id}|${r.scope}|${r.channel}`);
  const settled = () => t.app.get(ChannelPlanner).settled();

  beforeAll(async () => {
    db = await createDatabase();
    await migrate(db.url);
    smtp = await startSmtp();
    t = await startApp(
      db.url,
      {
        channels: {
          pollMs: 3_600_000,
          email: { transport: smtp.url, from: FROM, address: (u) => `${u}@mail.test`, after: 600_000 },
          broadcastAudience: (ctx) => {
            asked.push(ctx);
            return hook(ctx);
          },
        },
      },
      { gateway: false },
    );
  });
  afterAll(async () => {
    await t?.close();
    await smtp?.close();
    await db?.drop();
  });

  it("a publication goes to its topic's subscribers in its scope, and only to them (never the hook)", async () => {
    await t.service.subscribe('sub-plain', 'releases');
    await t.service.subscribe('sub-acme', 'releases', { scope: 'acme' });
    await t.service.subscribe('sub-other', 'other');
    // State in both scopes, no subscription: not in a publication's audience.
    await t.service.setPreferences('stateful', { muted: { types: [] } });
    await t.service.setPreferences('stateful', { muted: { types: [] } }, { scope: 'acme' });
    const unscoped = await t.service.publish('releases', { type: 'release', title: 'v1', channels: LATER });
    const scoped = await t.service.publish('releases', { type: 'release', title: 'v1 acme', scope: 'acme', channels: LATER });
    await settled();
    expect(await plannedFor(unscoped!.id)).toEqual(['sub-plain||email']);
    expect(await plannedFor(scoped!.id)).toEqual(['sub-acme|acme|email']);
    expect(asked).toEqual([]);
  });

  it('a broadcast goes to the users the host names, pulled a batch at a time after the call returned', async () => {
    const users = Array.from({ length: 2500 }, (_, i) => `host-${String(i).padStart(4, '0')}`);
    let release!: () => void;
    const started = new Promise<void>((r) => (release = r));
    const storedWhenAsked: number[] = [];
    let id = '';
    hook = async function* () {
      await started;
      for (let i = 0; i < users.length; i += 700) {
        storedWhenAsked.push(
          (await q<{ n: number }>(`SELECT count(*)::int AS n FROM inbox_channel_send WHERE notification_id = $1`, [id]))[0].n,
        );
        yield users.slice(i, i + 700);
      }
      yield users[0]; // named twice: planned once
    };
    const b = await t.service.broadcast({ type: 'news', title: 'to everyone', channels: LATER }, { scope: 'acme' });
    id = b!.id;
    // The call returned while the hook had not yielded one user: planning never holds it up.
    expect(await plannedFor(id)).toEqual([]);
    release();
    await settled();
    expect(new Set(await plannedFor(id))).toEqual(new Set(users.map((u) => `${u}|acme|email`)));
    expect(asked.at(-1)).toEqual({ scope: 'acme', notification: { id, type: 'news' }, channels: ['email'] });
    // Pulled as it is stored: before the host is asked its 2,100th user, a batch is stored.
    expect(storedWhenAsked[3]).toBeGreaterThanOrEqual(PLAN_BATCH);
  });

  it('an id that is not one is skipped, the others planned; a hook that throws keeps what it gave', async () => {
    hook = async function* () {
      yield ['ok-1', '', 'x'.repeat(256)];
      yield 42 as unknown as string;
      yield 'ok-2';
    };
    const b = await t.service.broadcast({ type: 'news', title: 'some bad ids', channels: LATER });
    await settled();
    expect(new Set(await plannedFor(b!.id))).toEqual(new Set(['ok-1||email', 'ok-2||email']));
    expect(asked.at(-1)!.scope).toBeNull();

    hook = async function* () {
      yield 'before-1';
      throw new Error('the users table is gone');
    };
    const c = await t.service.broadcast({ type: 'news', title: 'a failing hook', channels: LATER });
    await settled();
    expect(await plannedFor(c!.id)).toEqual(['before-1||email']);
  });

  it('a broadcast that does not ask for a channel never calls the hook', async () => {
    const before = asked.length;
    await t.service.broadcast({ type: 'news', title: 'inbox only' });
    await settled();
    expect(asked).toHaveLength(before);
  });
});
