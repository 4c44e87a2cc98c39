/**
 * `npm run bench:profile -- <file.cpuprofile> [--per N] [--svg out.svg] [--title T] [--window fn]`
 *
 * Reads a V8 CPU profile (`node --cpu-prof`, e.g. a bench server run with
 * `BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=prof"`), keeps the samples between the first and
 * the last one whose stack holds `--window` (default `notify`: the throughput rounds, not the
 * start-up), and prints where that time went, per category and per function, divided by `--per`
 * (the notifications sent meanwhile) to give µs per notification. `--svg` also draws the window
 * as a flame graph of the busy samples (no dependency; opens in any browser). Used for
 * docs/performance.md.
 */
import { readFileSync, writeFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Where a frame's code lives, by its URL: the library, each dependency, Node itself, V8's pseudo-frames. */
export function category(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (!url) {
    if (functionName === '(garbage collector)') return 'GC';
    if (functionName === '(idle)') return 'idle';
    if (functionName === '(program)') return 'V8/native (program)';
    return 'native';
  }
  const lib = /libs\/nestjs-inbox\/src\/(.+?)\.ts/.exec(url);
  if (lib) return `library: ${lib[1].split('/')[0]}`;
  if (/\/bench\//.test(url)) return 'bench harness';
  // The innermost package: Nest's platform-socket.io brings its own socket.io, for instance.
  const pkg = [...url.matchAll(/node_modules\/((?:@[^/]+\/)?[^/]+)/g)].pop();
  if (pkg) {
    const name = pkg[1];
    if (/^(socket\.io|engine\.io|socket\.io-parser|socket\.io-adapter|ws|@socket\.io\/.*)$/.test(name)) return `Socket.IO (${name})`;
    if (/^(pg|pg-protocol|pg-pool|pg-types|postgres-.*|pgpass|buffer-writer)$/.test(name)) return `pg (${name})`;
    if (name === 'typeorm') return 'TypeORM';
    if (name === 'zod') return 'zod';
    if (name.startsWith('@nestjs/')) return 'Nest';
    if (name === 'rxjs') return 'rxjs';
    return `other package (${name})`;
  }
  if (url.startsWith('node:')) return `Node (${url.slice(5).split('/')[0]})`;
  return 'other';
}

const frameKey = (f: CallFrame) =>
  `${f.functionName || '(anonymous)'} ${f.url
    .replace(/^.*node_modules\//, '')
    .replace(/^file:\/\/.*\/bench\//, 'bench/')
    .replace(/^.*libs\/nestjs-inbox\/src\//, 'nestjs-inbox/')}:${f.lineNumber + 1}`;

interface Tree {
  name: string;
  cat: string;
  value: number;
  children: Map<string, Tree>;
}

/**
 * What one notification's time is spent on: each sample goes to the first rule (in this order)
 * that names a frame of its stack (file and function), else to its leaf's category. The rules follow the path
 * of docs/architecture.md.
 */
const BUCKETS: [string, RegExp][] = [
  ['validate (zod, JSON size check)', /^(input|recipients|user) nestjs-inbox\/service\//],
  ['unread: recount query + `notifications:unread` frames', /^(recount|flush) nestjs-inbox\/realtime\/(unread-recounter|recount-batcher)/],
  [
    'unread: local users, raise, Stale event',
    /^(refresh|refreshHere|raiseShown|localUsers|markStale|recountHere|add) nestjs-inbox\/realtime\/(unread-recounter|recount-batcher|shown-counts)/,
  ],
  [
    'emit `notification` (payload, encode, write to sockets)',
    /^(deliver|deliverTo) nestjs-inbox\/realtime\/room-emitter|^emit bench\/servers\/bare-server/,
  ],
  [
    'INSERT: batch, parameters, send, map rows back',
    /^(write|flush|add|pump|insert|query|queryPool|\(anonymous\)) nestjs-inbox\/(persistence\/(notification\.writer|coalescer|statement-runner|repositories\/notification\.repository)|compat\/typeorm)/,
  ],
  [
    'pg: read and parse replies',
    /^(parse|handlePacket|_handleDataRow|_handleRowDescription|_handleCommandComplete|_handleReadyForQuery|_handleParseComplete|_handleBindComplete|\(anonymous\)) (pg|pg-protocol)\//,
  ],
  [
    'Socket.IO: incoming frames, pings, timers',
    /^(onData|onPacket|onMessage|receiverOnMessage|setPingTimeout|schedulePing|_onPacket|resetPingTimeout) (engine\.io|ws|socket\.io)\//,
  ],
  ['outgoing socket writes completing (drain, callbacks)', /^(afterWriteDispatched|afterWriteTick|onwrite|onWriteComplete|onDrain) /],
  ['notify / persist (service glue, promises)', /^(notify|persist|broadcast|publish|\(anonymous\)) nestjs-inbox\/service\//],
];

function bucketOf(stack: ProfileNode[]): string {
  const keys = stack.map((n) => frameKey(n.callFrame));
  for (const [name, re] of BUCKETS) if (keys.some((k) => re.test(k))) return name;
  const leaf = stack[stack.length - 1].callFrame;
  const cat = category(leaf);
  if (cat === 'GC' || cat === 'idle') return cat;
  return `elsewhere: ${cat.replace(/ \(.*\)$/, '')}`;
}

export function analyse(profile: Profile, windowFn: string) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const stackOf = (id: number): ProfileNode[] => {
    const stack: ProfileNode[] = [];
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) stack.push(byId.get(cur)!);
    return stack.reverse().slice(1); // without (root)
  };
  const times: number[] = [];
  let t = profile.startTime;
  for (const d of profile.timeDeltas) times.push((t += d));
  const inWindow = profile.samples.map((id) => stackOf(id).some((n) => n.callFrame.functionName === windowFn));
  const first = inWindow.indexOf(true);
  const last = inWindow.lastIndexOf(true);
  const root: Tree = { name: 'all', cat: '', value: 0, children: new Map() };
  const self = new Map<string, { cat: string; us: number }>();
  const cats = new Map<string, number>();
  const buckets = new Map<string, number>();
  let total = 0;
  for (let i = Math.max(first, 0); i <= last; i++) {
    // A sample stands for the time until the next one.
    const us = (times[i + 1] ?? times[i]) - times[i];
    const stack = stackOf(profile.samples[i]);
    if (stack.length === 0) continue;
    const leaf = stack[stack.length - 1].callFrame;
    total += us;
    const cat = category(leaf);
    cats.set(cat, (cats.get(cat) ?? 0) + us);
    const bucket = bucketOf(stack);
    buckets.set(bucket, (buckets.get(bucket) ?? 0) + us);
    const key = frameKey(leaf);
    const s = self.get(key) ?? { cat, us: 0 };
    s.us += us;
    self.set(key, s);
    // The flame graph shows where busy time went: idle samples stay out of it.
    if (cat === 'idle') continue;
    let node = root;
    node.value += us;
    for (const f of stack) {
      const k = frameKey(f.callFrame);
      let child = node.children.get(k);
      if (!child) node.children.set(k, (child = { name: k, cat: category(f.callFrame), value: 0, children: new Map() }));
      child.value += us;
      node = child;
    }
  }
  return { windowMs: (times[last] - times[Math.max(first, 0)]) / 1000, total, cats, buckets, self, root };
}

/** Inclusive time of every frame whose function name is `fn` (outermost occurrence on each stack). */
export function inclusive(root: Tree, fn: (name: string) => boolean): number {
  let sum = 0;
  const walk = (node: Tree) => {
    for (const c of node.children.values()) {
      if (fn(c.name)) sum += c.value;
      else walk(c);
    }
  };
  walk(root);
  return sum;
}

const PALETTE: Record<string, string> = {
  library: '#e4572e',
  'Socket.IO': '#29335c',
  pg: '#2e86ab',
  TypeORM: '#5fa8d3',
  zod: '#f3a712',
  Nest: '#a8c686',
  GC: '#999999',
  Node: '#669bbc',
  native: '#c9ada7',
};
const color = (cat: string) => PALETTE[Object.keys(PALETTE).find((k) => cat.startsWith(k)) ?? ''] ?? '#c9ada7';

/** A flame graph of the window (root at the bottom, width = time), frames under 0.1% left out. */
export function flameSvg(root: Tree, title: string, subtitle: string): string {
  const W = 1400,
    ROW = 16,
    minWidth = root.value * 0.001;
  let depth = 0;
  const boxes: string[] = [];
  const place = (node: Tree, x: number, level: number) => {
    depth = Math.max(depth, level);
    let cx = x;
    for (const c of [...node.children.values()].sort((a, b) => b.value - a.value)) {
      if (c.value >= minWidth) {
        boxes.push(box(c, cx, level + 1));
        place(c, cx, level + 1);
      }
      cx += c.value;
    }
  };
  const scale = W / root.value;
  const box = (n: Tree, x: number, level: number) => {
    const w = n.value * scale;
    const label = w > 40 ? escape(n.name.slice(0, Math.floor(w / 6.5))) : '';
    const pct = ((n.value / root.value) * 100).toFixed(1);
    return (
      `<g><title>${escape(n.name)} (${n.cat}): ${pct}%</title>` +
      `<rect x="${(x * scale).toFixed(1)}" y="{Y${level}}" width="${Math.max(0.5, w - 0.5).toFixed(1)}" height="${ROW - 1}" fill="${color(n.cat)}"/>` +
      (label ? `<text x="${(x * scale + 3).toFixed(1)}" y="{T${level}}">${label}</text>` : '') +
      '</g>'
    );
  };
  place(root, 0, 0);
  const top = 50;
  const H = top + (depth + 1) * ROW + 60;
  const y = (level: number) => top + (depth - level + 1) * ROW;
  const body = boxes.map((b) => b.replace(/\{Y(\d+)\}/, (_, l) => String(y(+l))).replace(/\{T(\d+)\}/, (_, l) => String(y(+l) + 12)));
  const legend = Object.entries(PALETTE).map(
    ([k, c], i) =>
      `<rect x="${10 + i * 120}" y="${H - 30}" width="12" height="12" fill="${c}"/><text x="${26 + i * 120}" y="${H - 20}">${k === 'native' ? 'native (syscalls)' : k}</text>`,
  );
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="monospace" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="15" font-family="sans-serif">${escape(title)}</text>`,
    `<text x="${W / 2}" y="38" text-anchor="middle" font-size="12" font-family="sans-serif">${escape(subtitle)}</text>`,
    `<rect x="0" y="${y(0)}" width="${W}" height="${ROW - 1}" fill="#ddd"/><text x="3" y="${y(0) + 12}">all busy samples (${(root.value / 1000).toFixed(0)} ms)</text>`,
    ...body,
    ...legend,
    '</svg>',
  ].join('\n');
}

function escape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function main() {
  const args = process.argv.slice(2);
  const opt = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
  const file = args.find((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--'));
  if (!file) throw new Error('usage: bench/profile.ts <file.cpuprofile> [--per N] [--svg out.svg] [--title T] [--window fn]');
  const per = Number(opt('--per') ?? 1);
  const profile: Profile = JSON.parse(readFileSync(file, 'utf8'));
  const { windowMs, total, cats, buckets, self, root } = analyse(profile, opt('--window') ?? 'notify');
  const us = (x: number) => (x / per).toFixed(2).padStart(8);
  const busy = total - (cats.get('idle') ?? 0);
  console.log(
    `window ${windowMs.toFixed(0)} ms, sampled ${(total / 1000).toFixed(0)} ms, busy ${(busy / 1000).toFixed(0)} ms; µs per unit (÷ ${per})`,
  );
  // With --cpu-us (the bench's measured CPU per notification), shares of the busy samples are
  // turned into µs of CPU: the profiler samples wall time, which a busy machine's preemption inflates.
  const cpuUs = opt('--cpu-us') ? Number(opt('--cpu-us')) : undefined;
  console.log(`\nby step of the path (share of busy samples${cpuUs ? `; µs of the measured ${cpuUs} µs CPU per notification` : ''}):`);
  for (const [b, t] of [...buckets].filter(([b]) => b !== 'idle').sort((a, b) => b[1] - a[1])) {
    const share = t / busy;
    console.log(`${(share * 100).toFixed(1).padStart(6)}%  ${cpuUs ? (share * cpuUs).toFixed(1).padStart(6) + ' µs  ' : ''}${b}`);
  }
  console.log('\nself time by category:');
  for (const [c, t] of [...cats].sort((a, b) => b[1] - a[1])) console.log(`${us(t)}  ${((t / busy) * 100).toFixed(1).padStart(5)}%  ${c}`);
  console.log('\nself time by function (top 40):');
  for (const [k, { cat, us: t }] of [...self].sort((a, b) => b[1].us - a[1].us).slice(0, 40)) console.log(`${us(t)}  ${k}  [${cat}]`);
  const marks = (opt('--inclusive') ?? '').split(',').filter(Boolean);
  if (marks.length) {
    console.log('\ninclusive time:');
    for (const m of marks) console.log(`${us(inclusive(root, (n) => n.startsWith(`${m} `)))}  ${m}`);
  }
  // --tree PATTERN: the call tree under the frames whose name starts with PATTERN, merged, as shares of the busy time.
  const treeOf = opt('--tree');
  if (treeOf) {
    const merged: Tree = { name: treeOf, cat: '', value: 0, children: new Map() };
    const merge = (into: Tree, from: Tree) => {
      for (const c of from.children.values()) {
        let m = into.children.get(c.name);
        if (!m) into.children.set(c.name, (m = { name: c.name, cat: c.cat, value: 0, children: new Map() }));
        m.value += c.value;
        merge(m, c);
      }
    };
    const find = (node: Tree) => {
      for (const c of node.children.values()) {
        if (c.name.startsWith(treeOf)) {
          merged.value += c.value;
          merge(merged, c);
        } else find(c);
      }
    };
    find(root);
    const print = (node: Tree, depth: number) => {
      if (depth > Number(opt('--depth') ?? 8) || node.value < busy * 0.003) return;
      console.log(`${((node.value / busy) * 100).toFixed(1).padStart(6)}% ${us(node.value)}  ${'  '.repeat(depth)}${node.name}`);
      for (const c of [...node.children.values()].sort((a, b) => b.value - a.value)) print(c, depth + 1);
    };
    console.log(`\ncall tree under ${treeOf}:`);
    print(merged, 0);
  }
  const svg = opt('--svg');
  if (svg) {
    const sub = cpuUs
      ? `${cpuUs} µs of server CPU per notification (measured by the bench); width = share of the busy samples; hover a frame for its name`
      : `${(busy / per).toFixed(1)} µs of sampled (wall) time per unit; width = share of the busy samples; hover a frame for its name`;
    writeFileSync(svg, flameSvg(root, opt('--title') ?? file, sub));
    console.log(`\nwrote ${svg}`);
  }
}

if (require.main === module) main();
