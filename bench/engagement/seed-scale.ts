/**
 * Phase 1 of the engagement bench: a database `inbox_engagement_<name>` migrated with the
 * library's migrations and seeded with bench/scale's L history (BENCH_SCALE_* as there). Kept
 * (not dropped): phase 2 (explain.ts) adds the live deliveries and channel sends and runs
 * EXPLAIN ANALYZE on it, as many times as wanted; drop it when done (`DROP DATABASE inbox_engagement_<name>`).
 *
 *   npm run bench:engagement:seed -- <name>      (BENCH_SCALE_ROWS=2_000_000 … for a smaller one)
 */
import { admin, databaseUrl, migrate } from '../lib/database';
import { seed, SIZES, type ScaleSize } from '../scale/seed';

export const databaseName = (name: string) => `inbox_engagement_${name.replace(/[^a-z0-9_]/gi, '_')}`;

const envInt = (name: string) => (process.env[name] ? Number(process.env[name]!.replace(/_/g, '')) : undefined);

async function main(): Promise<void> {
  const name = process.argv[2] ?? 'bench';
  const rows = envInt('BENCH_SCALE_ROWS') ?? SIZES.L.rows;
  const size: ScaleSize = {
    ...SIZES.L,
    rows,
    users: envInt('BENCH_SCALE_USERS') ?? SIZES.L.users,
    broadcasts: envInt('BENCH_SCALE_BROADCASTS') ?? SIZES.L.broadcasts,
    topics: envInt('BENCH_SCALE_TOPICS') ?? SIZES.L.topics,
    publications: envInt('BENCH_SCALE_PUBLICATIONS') ?? SIZES.L.publications,
    scoped: { ...SIZES.L.scoped, users: Math.max(200, Math.round((SIZES.L.scoped.users * rows) / SIZES.L.rows)) },
  };
  const db = databaseName(name);
  await admin(`DROP DATABASE IF EXISTS ${db}`);
  await admin(`CREATE DATABASE ${db}`);
  const url = databaseUrl(db);
  await migrate(url);
  const report = await seed(url, size, (msg) => console.log(msg));
  console.log(`${db}: ${report.rows.toLocaleString('en')} rows seeded in ${report.seconds.toFixed(0)} s`, report.steps);
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
