/**
 * The detection benchmark's chart (bench/detection.ts), drawn with bench/chart.ts's panel:
 * leave latency against N for each mode run, one panel per timing set. Points are p50;
 * whiskers run from min to p99.
 */
import { esc, panel, type Series } from './chart.js';
import type { Summary } from './stats.js';

export interface DetectionChartInput {
  date: string;
  machine: { nproc: number; cpuModel: string; node: string };
  config: { mode: string; subscribers: number };
  timings: Record<string, { surveyTime: number; recvDeadline: number; pollTime: number }>;
  modes: Record<string, string>;
  rows: Array<{ timing: string; n: number; modes: Partial<Record<string, { leave: Summary }>> }>;
}

const COLORS: Record<string, string> = { original: '#c2410c', deadline: '#6b7280', adaptive: '#1d4ed8', hints: '#15803d' };
const W = 960;
const H = 440;

export function drawDetectionChart(r: DetectionChartInput): string {
  const timings = [...new Set(r.rows.map((row) => row.timing))].slice(0, 2);
  const panels = timings.map((timing, i) => {
    const rows = r.rows.filter((row) => row.timing === timing);
    const t = r.timings[timing]!;
    const series: Series[] = Object.keys(r.modes).map((mode) => ({
      label: mode === 'original' ? 'original' : mode === 'hints' ? "'adaptive' + connection hints" : `detection '${mode}'`,
      color: COLORS[mode] ?? '#000',
      dash: mode === 'original',
      marker: mode === 'original' ? 'square' : 'circle',
      points: rows.filter((row) => row.modes[mode]).map((row) => ({ n: row.n, s: row.modes[mode]!.leave })),
    }));
    return panel(70 + i * 470, `Leave, ${timing} timing (${t.surveyTime}/${t.recvDeadline}/${t.pollTime} ms)`, 'close → all subscribers, ms', series, rows.map((row) => row.n));
  });
  const caption =
    `${r.config.mode} run, ${r.config.subscribers} subscribers per server · p50, whisker min–p99 · ` +
    `${r.machine.nproc} × ${r.machine.cpuModel}, Node ${r.machine.node} · ${r.date.slice(0, 10)}`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="24" font-size="16" font-weight="700" text-anchor="middle">gopherdiscovery: leave detection, the original vs this library's modes</text>`,
    ...panels,
    `<text x="${W / 2}" y="${H - 12}" font-size="11" fill="#555" text-anchor="middle">${esc(caption)}</text>`,
    '</svg>',
    '',
  ].join('\n');
}
