import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The benchmark in quick mode, so it cannot rot: it runs every scenario on the library and on
 * its baselines with small sizes and writes a well-formed report. Timings are not asserted
 * (CI machines are noisy); only that every scenario produced finite numbers.
 */
describe('npm run bench -- --quick', () => {
  const out = mkdtempSync(join(tmpdir(), 'inbox-bench-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('runs every scenario against its baseline and writes RESULTS.md, results.json, latency.svg and connections.svg', async () => {
    const root = join(__dirname, '..', '..');
    const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve) => {
      const child = execFile(
        process.execPath,
        ['-r', 'ts-node/register/transpile-only', '-r', 'tsconfig-paths/register', 'bench/run.ts', '--quick', '--out', out],
        // About a minute alone; the whole suite runs beside it on the same cores.
        { cwd: root, env: { ...process.env, TS_NODE_PROJECT: join(root, 'tsconfig.json') }, timeout: 170_000 },
        (err, stdout, stderr) => resolve({ code: err ? ((err as any).code ?? 1) : 0, output: stdout + stderr }),
      );
      child.stdin?.end();
    });
    expect({ code, tail: output.slice(-2000) }).toEqual({ code: 0, tail: expect.any(String) });

    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
    expect(results.quick).toBe(true);
    expect(results.machine).toEqual(
      expect.objectContaining({ cpu: expect.any(String), cores: expect.any(Number), node: process.versions.node }),
    );
    const scenarios = new Set<string>(results.rows.map((r: { scenario: string }) => r.scenario.split('.')[0]));
    expect([...scenarios].sort()).toEqual(['1', '2', '3', '4', '5', '6', '7', '8']);
    for (const row of results.rows) {
      expect(Number.isFinite(row.library) && Number.isFinite(row.baseline)).toBe(true);
      // Memory per connection is a difference of two RSS/heap readings; with the quick run's 200
      // clients the allocator's own noise can make it negative (CI saw -3.8 KiB RSS), so only
      // times and rates must be positive here.
      if (row.unit === 'KiB') continue;
      expect(row.library).toBeGreaterThan(0);
      expect(row.baseline).toBeGreaterThan(0);
    }

    const md = readFileSync(join(out, 'RESULTS.md'), 'utf8');
    expect(md).toContain('| scenario | metric | library | baseline |');
    expect(md).toContain('Quick mode');
    const svg = readFileSync(join(out, 'latency.svg'), 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.trim().endsWith('</svg>')).toBe(true);
    expect((svg.match(/<polyline/g) ?? []).length).toBe(4);
    expect(existsSync(join(out, 'RESULTS.md'))).toBe(true);
    // Scenario 8 (connections at scale, a few hundred here) draws its own chart.
    const connections = readFileSync(join(out, 'connections.svg'), 'utf8');
    expect((connections.match(/<polyline/g) ?? []).length).toBe(4);
    expect(md).toContain('](connections.svg)');
  }, 180_000);
});
