/**
 * The benchmark's chart, as a small hand-written SVG (no dependencies): round time (survey
 * → last answer) and detection latency (join, leave) against N on a log axis, the original
 * algorithm beside this library's. Points are p50; whiskers run from min to p99.
 */
import type { Summary } from './stats.js';

interface ChartInput {
  date: string;
  names?: { original: string; library: string };
  machine: { nproc: number; cpuModel: string; node: string };
  config: { timing: { surveyTime: number; recvDeadline: number; pollTime: number }; subscribers: number };
  results: Array<{ n: number; algos: Record<'original' | 'library', { join: Summary; leave: Summary; rounds: { lastAnswerMs: Summary } }> }>;
}

const COLORS = { original: '#c2410c', library: '#1d4ed8' } as const;
const W = 960;
const H = 440;
const PANEL_W = 400;
const PANEL_H = 260;
const TOP = 70;

export const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function niceMax(v: number): { max: number; step: number } {
  if (!(v > 0)) return { max: 1, step: 0.2 };
  const raw = v / 5;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  return { max: Math.ceil(v / step) * step, step };
}

export interface Series {
  label: string;
  color: string;
  dash: boolean;
  marker: 'circle' | 'square';
  points: Array<{ n: number; s: Summary }>;
}

export function panel(x0: number, title: string, yLabel: string, series: Series[], ns: number[]): string {
  const out: string[] = [];
  const lo = Math.log10(Math.min(...ns)) - 0.15;
  const hi = Math.log10(Math.max(...ns)) + 0.15;
  const px = (n: number) => x0 + ((Math.log10(n) - lo) / (hi - lo)) * PANEL_W;
  const top = Math.max(...series.flatMap((s) => s.points.map((p) => (Number.isFinite(p.s.p99) ? p.s.p99 : p.s.p50))).filter(Number.isFinite), 1);
  const { max, step } = niceMax(top);
  const py = (v: number) => TOP + PANEL_H - (v / max) * PANEL_H;
  out.push(`<text x="${x0}" y="${TOP - 14}" font-size="14" font-weight="600">${esc(title)}</text>`);
  out.push(`<rect x="${x0}" y="${TOP}" width="${PANEL_W}" height="${PANEL_H}" fill="none" stroke="#999"/>`);
  for (let v = 0; v <= max + step / 2; v += step) {
    const y = py(v);
    out.push(`<line x1="${x0}" x2="${x0 + PANEL_W}" y1="${y}" y2="${y}" stroke="#eee"/>`);
    out.push(`<text x="${x0 - 6}" y="${y + 4}" font-size="11" text-anchor="end">${Math.round(v)}</text>`);
  }
  for (const n of ns) {
    const x = px(n);
    out.push(`<line x1="${x}" x2="${x}" y1="${TOP}" y2="${TOP + PANEL_H}" stroke="#f3f3f3"/>`);
    out.push(`<text x="${x}" y="${TOP + PANEL_H + 16}" font-size="11" text-anchor="middle">${n.toLocaleString('en')}</text>`);
  }
  out.push(`<text x="${x0 + PANEL_W / 2}" y="${TOP + PANEL_H + 34}" font-size="12" text-anchor="middle">members N (log scale)</text>`);
  out.push(`<text transform="translate(${x0 - 44} ${TOP + PANEL_H / 2}) rotate(-90)" font-size="12" text-anchor="middle">${esc(yLabel)}</text>`);
  series.forEach((s, si) => {
    const jitter = (si - (series.length - 1) / 2) * 5;
    const pts = s.points.filter((p) => Number.isFinite(p.s.p50));
    const path = pts.map((p, i) => `${i ? 'L' : 'M'}${(px(p.n) + jitter).toFixed(1)},${py(p.s.p50).toFixed(1)}`).join(' ');
    out.push(`<path d="${path}" fill="none" stroke="${s.color}" stroke-width="2"${s.dash ? ' stroke-dasharray="6 4"' : ''}/>`);
    for (const p of pts) {
      const x = px(p.n) + jitter;
      if (Number.isFinite(p.s.p99)) out.push(`<line x1="${x}" x2="${x}" y1="${py(p.s.min)}" y2="${py(p.s.p99)}" stroke="${s.color}" stroke-width="1" opacity="0.6"/>`);
      out.push(
        s.marker === 'circle'
          ? `<circle cx="${x}" cy="${py(p.s.p50)}" r="3.5" fill="${s.color}"/>`
          : `<rect x="${x - 3.5}" y="${py(p.s.p50) - 3.5}" width="7" height="7" fill="white" stroke="${s.color}" stroke-width="1.5"/>`,
      );
    }
  });
  // Legend, under the axis label, two entries per row.
  series.forEach((s, i) => {
    const ly = TOP + PANEL_H + 56 + Math.floor(i / 2) * 16;
    const lx = x0 + (i % 2) * (PANEL_W / 2);
    out.push(`<line x1="${lx}" x2="${lx + 22}" y1="${ly - 4}" y2="${ly - 4}" stroke="${s.color}" stroke-width="2"${s.dash ? ' stroke-dasharray="6 4"' : ''}/>`);
    out.push(`<text x="${lx + 28}" y="${ly}" font-size="11">${esc(s.label)}</text>`);
  });
  return out.join('\n');
}

export function drawChart(r: ChartInput): string {
  const ns = r.results.map((x) => x.n);
  const get = (algo: 'original' | 'library', what: (a: ChartInput['results'][number]['algos']['original']) => Summary) =>
    r.results.map((x) => ({ n: x.n, s: what(x.algos[algo]) }));
  const t = r.config.timing;
  const A = r.names?.original ?? 'original';
  const B = r.names?.library ?? 'this library';
  const left = panel(70, 'Round: start (survey sent) → last answer', 'ms (p50; whisker min–p99)', [
    { label: A, color: COLORS.original, dash: false, marker: 'circle', points: get('original', (a) => a.rounds.lastAnswerMs) },
    { label: B, color: COLORS.library, dash: false, marker: 'circle', points: get('library', (a) => a.rounds.lastAnswerMs) },
  ], ns);
  const right = panel(540, 'Detection: connect / close → all subscribers', 'ms (p50; whisker min–p99)', [
    { label: `join, ${A}`, color: COLORS.original, dash: false, marker: 'circle', points: get('original', (a) => a.join) },
    { label: `join, ${B}`, color: COLORS.library, dash: false, marker: 'circle', points: get('library', (a) => a.join) },
    { label: `leave, ${A}`, color: COLORS.original, dash: true, marker: 'square', points: get('original', (a) => a.leave) },
    { label: `leave, ${B}`, color: COLORS.library, dash: true, marker: 'square', points: get('library', (a) => a.leave) },
  ], ns);
  const caption =
    `surveyTime ${t.surveyTime} / recvDeadline ${t.recvDeadline} / pollTime ${t.pollTime} ms, ${r.config.subscribers} subscribers per server · ` +
    `${r.machine.nproc} × ${r.machine.cpuModel}, Node ${r.machine.node} · ${r.date.slice(0, 10)}`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="24" font-size="16" font-weight="700" text-anchor="middle">gopherdiscovery: ${esc(A)} vs ${esc(B)}, side by side</text>`,
    left,
    right,
    `<text x="${W / 2}" y="${H - 12}" font-size="11" fill="#555" text-anchor="middle">${esc(caption)}</text>`,
    '</svg>',
    '',
  ].join('\n');
}
