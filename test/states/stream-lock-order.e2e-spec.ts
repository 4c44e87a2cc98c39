import { Client } from 'pg';
import { INSERT_SQL } from '../../libs/nestjs-inbox/src/persistence/sql/insert.sql';
import { createDatabase } from '../support/database';
import { migrate } from '../support/migrate';

/** A publication's row as NotificationRepository.insert sends it (user, topic, type, title, … scope, group). */
const publication = (topic: string, title: string) => [
  null,
  topic,
  'post',
  title,
  null,
  null,
  null,
  null,
  null,
  null,
  null,
  null,
  '',
  null,
];

describe('the INSERT of a batch of broadcasts and publications', () => {
  let db: Awaited<ReturnType<typeof createDatabase>>;
  const clients: Client[] = [];

  beforeAll(async () => {
    db = await createDatabase();
    await migrate(db.url);
    for (let i = 0; i < 2; i++) {
      const c = new Client({ connectionString: db.url });
      await c.connect();
      clients.push(c);
    }
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.end()));
    await db.drop();
  });

  // Each row takes its stream's counter row at commit and holds it to the end of the
  // transaction: two batches that named the same streams in opposite orders deadlocked (one
  // failed with 40P01) unless the statement orders its rows by stream.
  it('never deadlocks two concurrent batches naming the same streams in opposite orders', async () => {
    const [a, b] = clients;
    for (let round = 0; round < 150; round++) {
      const topics = Array.from({ length: 6 }, (_, i) => `t${round}-${i}`);
      const forward = topics.map((t) => publication(t, `a-${t}`));
      const backward = [...topics].reverse().map((t) => publication(t, `b-${t}`));
      await Promise.all([a.query(INSERT_SQL, [JSON.stringify(forward)]), b.query(INSERT_SQL, [JSON.stringify(backward)])]);
    }
    const { rows } = await a.query<{ stream: string; seq: string }>(`SELECT stream, seq::text FROM inbox_stream WHERE stream LIKE 't%'`);
    expect(rows).toHaveLength(150 * 6);
    expect(rows.every((r) => r.seq === '2')).toBe(true);
  });
});
