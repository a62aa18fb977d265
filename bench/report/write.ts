import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CHARTS, markdownReport } from './markdown';
import { distribution, type BenchResults } from './results';
import { latencyChart, memoryChart, throughputChart } from './svg';
import { RSS_BUDGET_MB } from '../figures/meta';

/**
 * Writes a run's outputs under `root` (bench/ by default): results/latest.json and a dated copy,
 * REPORT.md and charts/*.svg. A quick run without --out writes only its dated JSON, so it never
 * replaces the full run's report. Returns the files written.
 */
export function writeOutputs(results: BenchResults, root: string, full: boolean): string[] {
  const stamp = results.startedAt.replaceAll(':', '-').replace(/\.\d+Z$/, 'Z');
  mkdirSync(path.join(root, 'results'), { recursive: true });
  const json = `${JSON.stringify(results, null, 2)}\n`;
  if (!full) {
    const file = path.join(root, 'results', `${stamp}-${results.mode}.json`);
    writeFileSync(file, json);
    return [file];
  }
  const written: string[] = [];
  const write = (file: string, content: string) => {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, content);
    written.push(file);
  };
  write(path.join(root, 'results', 'latest.json'), json);
  write(path.join(root, 'results', `${stamp}.json`), json);

  const empty = (title: string) => distribution(title, []);
  const d = results.distributions;
  write(path.join(root, 'charts', CHARTS.throughput), throughputChart(results.figures));
  write(path.join(root, 'charts', CHARTS.postLatency), latencyChart(d.postLatency ?? empty('POST /api/orders latency')));
  write(path.join(root, 'charts', CHARTS.commitToConfirm), latencyChart(d.commitToConfirm ?? empty('Commit → broker confirm')));
  write(path.join(root, 'charts', CHARTS.endToEnd), latencyChart(d.endToEnd ?? empty('POST → PROCESSING through GET')));
  write(path.join(root, 'charts', CHARTS.memory), memoryChart(results.figures, RSS_BUDGET_MB));

  // Hand-written profiling findings, kept next to the generated report and folded into it.
  const findingsFile = path.join(root, 'findings.md');
  const findings = existsSync(findingsFile) ? readFileSync(findingsFile, 'utf8') : undefined;
  write(path.join(root, 'REPORT.md'), markdownReport(results, findings));
  return written;
}
