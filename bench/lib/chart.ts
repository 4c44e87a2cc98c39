/**
 * The latency chart: one CDF line per series on a log-scale time axis, as a small hand-written
 * SVG (no plotting dependency, no network, renders in any browser and on GitHub).
 */
const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b'];

export function cdfSvg(title: string, series: Record<string, number[]>): string {
  const W = 760,
    H = 420,
    L = 60,
    R = 20,
    T = 40,
    B = 110;
  const all = Object.values(series)
    .flat()
    .filter((x) => x > 0);
  const lo = Math.pow(10, Math.floor(Math.log10(Math.max(0.01, Math.min(...all)))));
  const hi = Math.pow(10, Math.ceil(Math.log10(Math.max(...all))));
  const x = (ms: number) => L + ((Math.log10(Math.max(ms, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * (W - L - R);
  const y = (q: number) => T + (1 - q) * (H - T - B);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="15">${escape(title)}</text>`,
  ];
  for (let d = lo; d <= hi * 1.001; d *= 10) {
    out.push(`<line x1="${x(d)}" x2="${x(d)}" y1="${y(0)}" y2="${y(1)}" stroke="#ddd"/>`);
    out.push(`<text x="${x(d)}" y="${y(0) + 16}" text-anchor="middle">${d >= 1 ? d : d.toFixed(2)} ms</text>`);
  }
  for (const q of [0, 0.5, 0.9, 0.99, 1]) {
    out.push(`<line x1="${L}" x2="${W - R}" y1="${y(q)}" y2="${y(q)}" stroke="#ddd"/>`);
    out.push(`<text x="${L - 6}" y="${y(q) + 4}" text-anchor="end">p${q * 100}</text>`);
  }
  out.push(`<text x="${(L + W - R) / 2}" y="${y(0) + 34}" text-anchor="middle">latency, notify → receipt (log scale)</text>`);
  Object.entries(series).forEach(([name, values], i) => {
    const sorted = [...values].sort((a, b) => a - b);
    // At most ~400 points per line keeps the file small without changing its shape.
    const step = Math.max(1, Math.floor(sorted.length / 400));
    const pts: string[] = [];
    for (let k = 0; k < sorted.length; k += step) pts.push(`${x(sorted[k]).toFixed(1)},${y((k + 1) / sorted.length).toFixed(1)}`);
    pts.push(`${x(sorted[sorted.length - 1]).toFixed(1)},${y(1).toFixed(1)}`);
    const color = COLORS[i % COLORS.length];
    const dash = name.startsWith('bare') ? ' stroke-dasharray="6 3"' : '';
    out.push(`<polyline fill="none" stroke="${color}" stroke-width="2"${dash} points="${pts.join(' ')}"/>`);
    const ly = y(0) + 56 + Math.floor(i / 2) * 18;
    const lx = L + (i % 2) * 330;
    out.push(`<line x1="${lx}" x2="${lx + 30}" y1="${ly - 4}" y2="${ly - 4}" stroke="${color}" stroke-width="2"${dash}/>`);
    out.push(`<text x="${lx + 36}" y="${ly}">${escape(name)} (n=${sorted.length})</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}

function escape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export interface Panel {
  title: string;
  xLabel: string;
  yLabel: string;
  /** Points `[x, y]` by series name; a name starting with "bare" is drawn dashed. */
  series: Record<string, [number, number][]>;
}

/** Line charts on linear axes, side by side in one SVG (scenario 8: connect curve, RSS against connections). */
export function panelsSvg(title: string, panels: Panel[]): string {
  const PW = 440,
    H = 400,
    L = 70,
    R = 20,
    T = 60,
    B = 90;
  const W = PW * panels.length;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="15">${escape(title)}</text>`,
  ];
  panels.forEach((panel, p) => {
    const ox = p * PW;
    const pts = Object.values(panel.series).flat();
    const xMax = nice(Math.max(1e-9, ...pts.map(([x]) => x)));
    const yMax = nice(Math.max(1e-9, ...pts.map(([, y]) => y)));
    const x = (v: number) => ox + L + (v / xMax) * (PW - L - R);
    const y = (v: number) => T + (1 - v / yMax) * (H - T - B);
    out.push(`<text x="${ox + (L + PW - R) / 2}" y="44" text-anchor="middle" font-size="13">${escape(panel.title)}</text>`);
    for (let k = 0; k <= 4; k++) {
      const xv = (xMax * k) / 4;
      const yv = (yMax * k) / 4;
      out.push(`<line x1="${x(xv)}" x2="${x(xv)}" y1="${y(0)}" y2="${y(yMax)}" stroke="#ddd"/>`);
      out.push(`<text x="${x(xv)}" y="${y(0) + 16}" text-anchor="middle">${label(xv)}</text>`);
      out.push(`<line x1="${x(0)}" x2="${x(xMax)}" y1="${y(yv)}" y2="${y(yv)}" stroke="#ddd"/>`);
      out.push(`<text x="${x(0) - 6}" y="${y(yv) + 4}" text-anchor="end">${label(yv)}</text>`);
    }
    out.push(`<text x="${ox + (L + PW - R) / 2}" y="${y(0) + 34}" text-anchor="middle">${escape(panel.xLabel)}</text>`);
    out.push(
      `<text x="${ox + 16}" y="${(T + H - B) / 2}" text-anchor="middle" transform="rotate(-90 ${ox + 16} ${(T + H - B) / 2})">${escape(panel.yLabel)}</text>`,
    );
    Object.entries(panel.series).forEach(([name, points], i) => {
      const color = COLORS[i % COLORS.length];
      const dash = name.startsWith('bare') ? ' stroke-dasharray="6 3"' : '';
      const line = points.map(([px, py]) => `${x(px).toFixed(1)},${y(py).toFixed(1)}`).join(' ');
      out.push(`<polyline fill="none" stroke="${color}" stroke-width="2"${dash} points="${line}"/>`);
      const ly = y(0) + 56 + i * 16;
      out.push(`<line x1="${ox + L}" x2="${ox + L + 30}" y1="${ly - 4}" y2="${ly - 4}" stroke="${color}" stroke-width="2"${dash}/>`);
      out.push(`<text x="${ox + L + 36}" y="${ly}">${escape(name)}</text>`);
    });
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}

/** The next 1, 2 or 5 × 10^k at or above `v`. */
function nice(v: number): number {
  const e = Math.pow(10, Math.floor(Math.log10(v)));
  return ([1, 2, 5, 10].find((m) => m * e >= v) ?? 10) * e;
}

const label = (v: number) => (v >= 1000 ? `${+(v / 1000).toFixed(2)}k` : `${+v.toFixed(2)}`);
