import { connect, type Channel, type ChannelModel, type ConsumeMessage } from 'amqplib';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Client } from 'pg';
import { ServerEvent, type NotificationPayload } from 'nestjs-inbox';
import { migrate, startApp, type TestApp } from '../support/app';
import { TestClient } from '../support/client';
import { createDatabase, PG_ADMIN_URL } from '../support/database';
import { type Cluster, startCluster } from '../support/cluster';
import { until } from '../support/processes';
import { PRODUCERS_DIR, PYTHON, run } from '../support/producers';

/** The machine's RabbitMQ, shared with other runs: every name here is this run's own. */
const AMQP_URL = process.env.TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const RUN = randomBytes(4).toString('hex');
const QUEUE = `inbox-test-${RUN}`;
const DEAD = `${QUEUE}.dead`;

/** Publishes one message per entry with the Python producer (test/producers/publish.py, pika). */
function publish(messages: (string | object)[], flags: string[] = [], queue = QUEUE): Promise<string> {
  const stdin = messages.map((m) => (typeof m === 'string' ? m : JSON.stringify(m))).join('\n') + '\n';
  return run(PYTHON, [join(PRODUCERS_DIR, 'publish.py'), AMQP_URL, queue, ...flags], stdin, 30_000);
}

async function rabbitmqctl<T>(...args: string[]): Promise<T> {
  return JSON.parse(await run('rabbitmqctl', [...args, '--formatter', 'json', '-q']));
}

/** Every message consumed and settled: none ready, none held unacked by the consumer. */
const drained = (queue = QUEUE) =>
  until(
    `queue ${queue} drained`,
    async () => {
      const rows = await rabbitmqctl<{ name: string; messages_ready: number; messages_unacknowledged: number }[]>(
        'list_queues',
        'name',
        'messages_ready',
        'messages_unacknowledged',
      );
      const q = rows.find((r) => r.name === queue);
      return !!q && q.messages_ready === 0 && q.messages_unacknowledged === 0;
    },
    30_000,
  );

/**
 * The broker's pids of the library's connections for this run's queue, found by their
 * `connection_name` (the table format: `close_connection` takes its pid syntax, not the JSON one).
 */
async function consumerConnections(): Promise<string[]> {
  const out = await run('rabbitmqctl', ['list_connections', 'pid', 'client_properties', '-q', '-s']);
  return out
    .split('\n')
    .filter((line) => line.includes(`nestjs-inbox ${QUEUE}`))
    .map((line) => line.split('\t')[0]);
}

/** What lands in the dead-letter queue, read by a consumer of the test's own. */
class DeadLetters {
  readonly received: ConsumeMessage[] = [];
  private readonly waiters = new Set<() => void>();

  constructor(channel: Channel, queue = DEAD) {
    void channel.consume(
      queue,
      (msg) => {
        if (!msg) return;
        this.received.push(msg);
        this.waiters.forEach((wake) => wake());
      },
      { noAck: true },
    );
  }

  waitFor(messageId: string, timeoutMs = 10_000): Promise<ConsumeMessage> {
    const find = () => this.received.find((m) => m.properties.messageId === messageId);
    return new Promise((resolve, reject) => {
      const check = () => {
        const hit = find();
        if (!hit) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(hit);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`no dead letter '${messageId}' within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.add(check);
      check();
    });
  }
}

describe('RabbitMQ door: a Python producer publishes with pika', () => {
  let db: Awaited<ReturnType<typeof createDatabase>>;
  let t: TestApp;
  let broker: ChannelModel;
  let channel: Channel;
  let dead: DeadLetters;
  const clients: TestClient[] = [];
  const connectUser = async (user: string) => {
    const c = await TestClient.connect(t.url, user);
    clients.push(c);
    return c;
  };
  /** The user's own notifications (not the broadcasts other tests sent), as stored. */
  const stored = async (user: string) => (await t.service.list(user, { limit: 100 })).items.filter((n) => !n.broadcast);

  beforeAll(async () => {
    db = await createDatabase();
    await migrate(db.url);
    t = await startApp(db.url, { amqp: { url: AMQP_URL, queue: QUEUE }, canSubscribe: () => true });
    broker = await connect(AMQP_URL);
    channel = await broker.createChannel();
    await channel.assertQueue(DEAD, { durable: true });
    dead = new DeadLetters(channel);
    await until('the consumer connected', async () => (await consumerConnections()).length === 1, 15_000);
  });
  afterEach(() => clients.splice(0).forEach((c) => c.close()));
  afterAll(async () => {
    await t?.close();
    if (channel) {
      await channel.deleteQueue(QUEUE);
      await channel.deleteQueue(DEAD);
    }
    await broker?.close();
    await db?.drop();
  });

  it('stores and delivers live a message to a user, and acks it once committed', async () => {
    const tab = await connectUser('py-1');
    const from = tab.mark();
    await publish(
      [{ to: 'py-1', notification: { type: 'order', title: 'Shipped', data: { orderId: 7 } } }],
      ['--message-id', `one-${RUN}`],
    );
    const got = await tab.waitForTitle('Shipped', from);
    expect(got).toMatchObject({ type: 'order', data: { orderId: 7 }, broadcast: false, topic: null });
    await drained();
    expect((await stored('py-1')).map((n) => n.id)).toEqual([got.id]);
  });

  it('broadcasts and publishes to a topic with the same JSON', async () => {
    const [one, two] = [await connectUser('py-many-1'), await connectUser('py-many-2')];
    await t.service.subscribe('py-many-2', 'releases');
    const [m1, m2] = [one.mark(), two.mark()];
    await publish([
      { broadcast: true, notification: { type: 'announcement', title: 'to everyone' } },
      { topic: 'releases', notification: { type: 'release', title: 'v2 is out' } },
    ]);
    await one.waitForTitle('to everyone', m1);
    await two.waitForTitle('to everyone', m2);
    await two.waitForTitle('v2 is out', m2);
  });

  it('dead-letters an invalid message and one that is not JSON, with the error, storing nothing', async () => {
    const tab = await connectUser('py-bad');
    const from = tab.mark();
    await publish([{ to: 'py-bad', notification: { type: '', title: 'invalid' } }], ['--message-id', `bad-${RUN}`]);
    await publish(['{"to": "py-bad", "notification": '], ['--message-id', `broken-${RUN}`]);
    const invalid = await dead.waitFor(`bad-${RUN}`);
    expect(invalid.properties.headers).toMatchObject({
      'x-inbox-error': expect.stringMatching(/^message: notification\.type: must be a non-empty string/),
      'x-inbox-error-code': 'INVALID_INPUT',
      'x-inbox-queue': QUEUE,
    });
    // The producer's bytes and properties, unchanged, so it can be fixed and published again.
    expect(JSON.parse(invalid.content.toString())).toEqual({ to: 'py-bad', notification: { type: '', title: 'invalid' } });
    expect(invalid.properties.contentType).toBe('application/json');
    const broken = await dead.waitFor(`broken-${RUN}`);
    expect(broken.properties.headers!['x-inbox-error']).toMatch(/^body: not valid JSON/);
    expect(broken.content.toString()).toBe('{"to": "py-bad", "notification": ');
    await publish([{ to: 'py-bad', notification: { type: 'm', url: 'javascript:alert(1)' } }], ['--message-id', `url-${RUN}`]);
    expect((await dead.waitFor(`url-${RUN}`)).properties.headers!['x-inbox-error']).toBe(
      'message: notification.url: must be an http(s) URL or a site-relative path starting with a single /',
    );
    await drained();
    expect(await stored('py-bad')).toEqual([]);
    expect(tab.log.slice(from).filter((e) => e.event === 'notification' && !(e.payload as NotificationPayload).broadcast)).toEqual([]);
  });

  it("takes notification.scope: scoped messages reach that scope's inboxes only; a bad scope is dead-lettered naming it", async () => {
    await t.service.subscribe('py-sc', 'py-sc-news', { scope: 'acme' });
    await publish([
      { to: 'py-sc', notification: { type: 'm', title: 'direct in acme', scope: 'acme' } },
      { broadcast: true, notification: { type: 'm', title: 'to acme', scope: 'acme' } },
      { topic: 'py-sc-news', notification: { type: 'm', title: 'news in acme', scope: 'acme' } },
      { broadcast: true, notification: { type: 'm', title: 'to globex', scope: 'globex' } },
    ]);
    await publish([{ to: 'py-sc', notification: { type: 'm', title: 'bad', scope: '' } }], ['--message-id', `scope-${RUN}`]);
    expect((await dead.waitFor(`scope-${RUN}`)).properties.headers).toMatchObject({
      'x-inbox-error': 'message: notification.scope: must be a string of 1 to 200 characters',
      'x-inbox-error-code': 'INVALID_INPUT',
    });
    await drained();
    const titles = async (scope?: string) =>
      (await t.service.list('py-sc', { limit: 100, scope })).items
        .map((n) => n.title)
        .filter((title) => ['direct in acme', 'to acme', 'news in acme', 'to globex'].includes(title!));
    // The consumer stores messages concurrently (prefetch): ids, so the list's order, are not the publish order.
    expect((await titles('acme')).sort()).toEqual(['direct in acme', 'news in acme', 'to acme']);
    expect(await titles('globex')).toEqual(['to globex']);
    expect(await titles()).toEqual([]);
    expect(await t.dataSource.query(`SELECT count(*)::int AS n FROM inbox_notification WHERE title = 'bad'`)).toEqual([{ n: 0 }]);
  });

  it('takes notification.group: grouped into one item; a bad group, or one on a broadcast, is dead-lettered naming it', async () => {
    await publish([
      { to: 'py-grp', notification: { type: 'c', title: 'one', group: 'post:1' } },
      { to: 'py-grp', notification: { type: 'c', title: 'two', group: 'post:1' } },
    ]);
    await publish([{ to: 'py-grp', notification: { type: 'c', title: 'bad', group: '' } }], ['--message-id', `group-${RUN}`]);
    await publish([{ broadcast: true, notification: { type: 'c', title: 'bad', group: 'k' } }], ['--message-id', `group-b-${RUN}`]);
    expect((await dead.waitFor(`group-${RUN}`)).properties.headers).toMatchObject({
      'x-inbox-error': 'message: notification.group: must be a string of 1 to 200 characters',
      'x-inbox-error-code': 'INVALID_INPUT',
    });
    expect((await dead.waitFor(`group-b-${RUN}`)).properties.headers).toMatchObject({
      'x-inbox-error': expect.stringMatching(/notification: group: groups apply to notifications to users/),
      'x-inbox-error-code': 'INVALID_INPUT',
    });
    await drained();
    // (Beside the broadcasts of the tests before.) The consumer stores up to `prefetch` messages at once, so
    // either may be stored last and give the item its title; what is fixed is one item counting both.
    const grouped = (await t.service.list('py-grp')).items.filter((n) => n.group);
    expect(grouped.map((n) => [n.group?.key, n.group?.count])).toEqual([['post:1', 2]]);
    expect(['one', 'two']).toContain(grouped[0].title);
    expect(await t.dataSource.query(`SELECT count(*)::int AS n FROM inbox_notification WHERE title = 'bad'`)).toEqual([{ n: 0 }]);
  });

  it('stores a message delivered several times once: by its message_id, or by its dedupeKey', async () => {
    const tab = await connectUser('py-dup');
    const from = tab.mark();
    await publish([{ to: 'py-dup', notification: { type: 'm', title: 'by message id' } }], ['--message-id', `dup-${RUN}`, '--times', '3']);
    await publish([{ to: 'py-dup', notification: { type: 'm', title: 'by dedupe key', dedupeKey: `key-${RUN}` } }], ['--times', '2']);
    await tab.waitForTitle('by message id', from);
    await tab.waitForTitle('by dedupe key', from);
    await drained();
    expect((await stored('py-dup')).map((n) => n.title).sort()).toEqual(['by dedupe key', 'by message id']);
    const live = tab.log
      .slice(from)
      .filter((e) => e.event === 'notification')
      .map((e) => (e.payload as NotificationPayload).title!);
    expect(live.filter((title) => title.startsWith('by ')).sort()).toEqual(['by dedupe key', 'by message id']);
  });

  it('keeps a message it cannot store while the database refuses connections, and delivers it when it is back', async () => {
    const tab = await connectUser('py-outage');
    const from = tab.mark();
    const admin = new Client({ connectionString: PG_ADMIN_URL });
    await admin.connect();
    const reopen = () => admin.query(`ALTER DATABASE ${db.name} ALLOW_CONNECTIONS true`);
    try {
      // The app's database goes away: no new connections, the open ones ended.
      await admin.query(`ALTER DATABASE ${db.name} ALLOW_CONNECTIONS false`);
      await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1`, [db.name]);
      await publish([{ to: 'py-outage', notification: { type: 'm', title: 'after the outage' } }], ['--message-id', `outage-${RUN}`]);
      // Held by the consumer (unacked), not dead-lettered, while it retries.
      await until(
        'the message held unacked',
        async () => {
          const rows = await rabbitmqctl<{ name: string; messages_unacknowledged: number }[]>(
            'list_queues',
            'name',
            'messages_unacknowledged',
          );
          return rows.find((r) => r.name === QUEUE)?.messages_unacknowledged === 1;
        },
        15_000,
      );
      await reopen();
    } finally {
      await reopen();
      await admin.end();
    }
    // The consumer retries with a growing delay (at most 30 s): the next try after the return stores it.
    await tab.waitFor<NotificationPayload>(ServerEvent.Notification, (n) => n.title === 'after the outage', { from, timeoutMs: 40_000 });
    await drained();
    expect((await stored('py-outage')).map((n) => n.title)).toEqual(['after the outage']);
    expect(dead.received.map((m) => m.properties.messageId)).not.toContain(`outage-${RUN}`);
  }, 90_000);

  it('reconnects after the broker drops its connection: a stream loses nothing and stores each message once', async () => {
    const tab = await connectUser('py-stream');
    const from = tab.mark();
    const titles = Array.from({ length: 30 }, (_, i) => `stream ${i}`);
    const received = () =>
      new Set(
        tab.log
          .slice(from)
          .filter((e) => e.event === 'notification')
          .map((e) => (e.payload as NotificationPayload).title!),
      );
    const [before] = await consumerConnections();
    expect(before).toBeDefined();
    const stream = publish(
      titles.map((title) => ({ to: 'py-stream', notification: { type: 'm', title } })),
      ['--message-id', `stream-${RUN}`, '--interval', '0.1'],
    );
    try {
      await until('the stream under way', () => received().size >= 5, 15_000);
      // Only this run's connection: the broker is shared, so it is not restarted nor emptied of others.
      await run('rabbitmqctl', ['close_connection', before, 'test: the broker drops the connection']);
      await publish([{ to: 'py-stream', notification: { type: 'm', title: 'published while away' } }], ['--message-id', `away-${RUN}`]);
    } finally {
      await stream; // before the queue is deleted, whatever happened
    }
    await tab.waitFor<NotificationPayload>(ServerEvent.Notification, (n) => n.title === 'published while away', {
      from,
      timeoutMs: 20_000,
    });
    await until('every message of the stream received', () => titles.every((title) => received().has(title)), 30_000);
    await drained();
    const [after] = await consumerConnections();
    expect(after).toBeDefined();
    expect(after).not.toBe(before);
    const titlesStored = (await stored('py-stream')).map((n) => n.title);
    expect(titlesStored).toHaveLength(31);
    expect(new Set(titlesStored)).toEqual(new Set([...titles, 'published while away']));
  }, 90_000);
});

describe('RabbitMQ door: poison messages and oversized ones never hold the queue (prefetch 2)', () => {
  const queue = `${QUEUE}-poison`;
  const deadQueue = `${queue}.dead`;
  let db: Awaited<ReturnType<typeof createDatabase>>;
  let t: TestApp;
  let broker: ChannelModel;
  let channel: Channel;
  let dead: DeadLetters;
  const stored = async (user: string) => (await t.service.list(user, { limit: 100 })).items.map((n) => n.title);
  /** Publishes, as a producer would, with message ids `<id>-<n>`: exact bytes, confirmed by the broker. */
  const send = async (messages: (string | object)[], id: string) => {
    const confirm = await broker.createConfirmChannel();
    await confirm.assertQueue(queue, { durable: true });
    messages.forEach((m, n) =>
      confirm.sendToQueue(queue, Buffer.from(typeof m === 'string' ? m : JSON.stringify(m)), {
        contentType: 'application/json',
        persistent: true,
        messageId: `${id}-${n}`,
      }),
    );
    await confirm.waitForConfirms();
    await confirm.close();
  };

  beforeAll(async () => {
    db = await createDatabase();
    await migrate(db.url);
    // A host's own rule on the table, which Postgres enforces on every try the same way.
    const admin = new Client({ connectionString: db.url });
    await admin.connect();
    await admin.query(`ALTER TABLE inbox_notification ADD CONSTRAINT host_rule CHECK (title IS DISTINCT FROM 'refused by the host')`);
    await admin.end();
    t = await startApp(db.url, { amqp: { url: AMQP_URL, queue, prefetch: 2, maxBodyBytes: 64 * 1024 } });
    broker = await connect(AMQP_URL);
    channel = await broker.createChannel();
    await channel.assertQueue(deadQueue, { durable: true });
    dead = new DeadLetters(channel, deadQueue);
  });
  afterAll(async () => {
    await t?.close();
    if (channel) {
      await channel.deleteQueue(queue);
      await channel.deleteQueue(deadQueue);
    }
    await broker?.close();
    await db?.drop();
  });

  it('dead-letters text Postgres cannot store (a lone surrogate) as INVALID_INPUT, and delivers the message behind it', async () => {
    // The producer's bytes: JSON escapes of a lone UTF-16 surrogate, valid JSON that Postgres' jsonb refuses.
    await send(
      [
        '{"to": "poison-1", "notification": {"type": "m", "title": "a\\ud800b"}}',
        '{"to": "poison-\\udc00", "notification": {"type": "m", "title": "lone"}}',
        '{"to": "poison-1", "notification": {"type": "m", "data": {"k\\ud800": 1}}}',
        { to: 'poison-1', notification: { type: 'm', title: 'behind the poison' } },
      ],
      `poison-${RUN}`,
    );
    const [title, to, data] = await Promise.all([0, 1, 2].map((i) => dead.waitFor(`poison-${RUN}-${i}`)));
    expect(title.properties.headers).toMatchObject({
      'x-inbox-error': 'message: notification.title: must not contain a lone UTF-16 surrogate (not valid Unicode)',
      'x-inbox-error-code': 'INVALID_INPUT',
    });
    expect(to.properties.headers).toMatchObject({
      'x-inbox-error': expect.stringMatching(/^message: to\.0: must not contain a lone UTF-16 surrogate/),
      'x-inbox-error-code': 'INVALID_INPUT',
    });
    expect(data.properties.headers).toMatchObject({
      'x-inbox-error': 'notification: data: key "k\\ud800": must not contain a lone UTF-16 surrogate (not valid Unicode)',
      'x-inbox-error-code': 'INVALID_INPUT',
    });
    await until('the valid message stored', async () => (await stored('poison-1')).includes('behind the poison'), 10_000);
    await drained(queue);
    expect(await stored('poison-1')).toEqual(['behind the poison']);
  });

  it('dead-letters a message the database refuses twice the same way, with that error, and delivers the one behind it', async () => {
    await send(
      [
        { to: 'refused-1', notification: { type: 'm', title: 'refused by the host' } },
        { to: 'refused-1', notification: { type: 'm', title: 'stored after it' } },
      ],
      `refused-${RUN}`,
    );
    const refused = await dead.waitFor(`refused-${RUN}-0`);
    expect(refused.properties.headers).toMatchObject({
      'x-inbox-error': expect.stringMatching(/^not stored: the database refused it twice the same way \(SQLSTATE 23514: .*host_rule/),
      'x-inbox-error-code': 'INTERNAL',
    });
    await until('the next message stored', async () => (await stored('refused-1')).includes('stored after it'), 10_000);
    await drained(queue);
    expect(await stored('refused-1')).toEqual(['stored after it']);
  });

  it('dead-letters a message over amqp.maxBodyBytes by its size, without parsing it', async () => {
    // Not JSON either: had it been parsed, the error would say so.
    const big = 'x'.repeat(100_000);
    await send([big], `big-${RUN}`);
    const letter = await dead.waitFor(`big-${RUN}-0`);
    expect(letter.properties.headers).toMatchObject({
      'x-inbox-error': 'message: 100000 bytes, larger than 65536 (amqp.maxBodyBytes); not parsed',
      'x-inbox-error-code': 'PAYLOAD_TOO_LARGE',
    });
    expect(letter.content.length).toBe(100_000);
    await drained(queue);
  });
});

describe('RabbitMQ door with several instances over Redis', () => {
  const queue = `${QUEUE}-cluster`;
  let cluster: Cluster;
  let channel: Channel;
  let broker: ChannelModel;

  beforeAll(async () => {
    // Both gateway instances and the producer-only worker consume the queue (competing consumers).
    cluster = await startCluster({ amqp: { url: AMQP_URL, queue, deadLetterQueue: `${queue}.dead` } });
    broker = await connect(AMQP_URL);
    channel = await broker.createChannel();
  });
  afterAll(async () => {
    await cluster?.close();
    if (channel) {
      await channel.deleteQueue(queue);
      await channel.deleteQueue(`${queue}.dead`);
    }
    await broker?.close();
  });

  it('delivers each message once to its user, whichever instance consumed it and wherever the user is', async () => {
    const [onA, onB] = [await TestClient.connect(cluster.a.url, 'rmq-a'), await TestClient.connect(cluster.b.url, 'rmq-b')];
    try {
      const messages = Array.from({ length: 20 }, (_, i) => ({
        to: i % 2 ? 'rmq-b' : 'rmq-a',
        notification: { type: 'm', title: `m${i}`, dedupeKey: `rmq-${RUN}-${i}` },
      }));
      await publish(messages, [], queue);
      const titles = (c: TestClient) =>
        c.log.filter((e) => e.event === 'notification').map((e) => (e.payload as NotificationPayload).title);
      await until('every message delivered', () => titles(onA).length + titles(onB).length >= 20, 20_000);
      await drained(queue);
      expect(titles(onA).sort()).toEqual(
        messages
          .filter((m) => m.to === 'rmq-a')
          .map((m) => m.notification.title)
          .sort(),
      );
      expect(titles(onB).sort()).toEqual(
        messages
          .filter((m) => m.to === 'rmq-b')
          .map((m) => m.notification.title)
          .sort(),
      );
    } finally {
      onA.close();
      onB.close();
    }
  }, 60_000);
});
