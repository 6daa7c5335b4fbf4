/**
 * Re-renders the Markdown table and the SVG chart of a results file (after a change to the
 * report or the chart, without running the benchmark again):
 *   node --import tsx bench/render.ts bench/results/full.json
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { drawChart } from './chart.js';
import { markdownReport } from './report.js';

const file = process.argv[2];
if (!file?.endsWith('.json')) throw new Error('usage: bench/render.ts RESULTS.json');
const result = JSON.parse(readFileSync(file, 'utf8'));
writeFileSync(file.replace(/\.json$/, '.md'), markdownReport(result));
writeFileSync(file.replace(/\.json$/, '.svg'), drawChart(result));
console.log(`rendered ${file.replace(/\.json$/, '.md')} and .svg`);
