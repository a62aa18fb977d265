import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { REPO_ROOT } from '@order-service/testkit';
import type { BenchResults } from '../report/results';

/** Runs `node --import tsx bench/run.ts <args>` as `pnpm bench` does, collecting its output. */
function runBench(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/run.ts', ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

// Keeps the benchmark from rotting: the smallest run must complete and measure every figure.
// It asserts nothing about speed (the targets are the bench's business, not the test's).
describe('pnpm bench --quick --tiny', function () {
  this.timeout(180_000);
  let out: string;

  before(() => {
    out = mkdtempSync(path.join(tmpdir(), 'bench-test-'));
  });

  after(() => {
    rmSync(out, { recursive: true, force: true });
  });

  it('measures every figure and writes the results JSON, the report and the charts', async () => {
    const { code, stdout, stderr } = await runBench(['--quick', '--tiny', '--out', out]);
    expect(code, stderr).to.equal(0);
    expect(stdout).to.match(/^figure\s+value\s+limit\s+ratio\s+target\s+pass\/fail/m);

    const results = JSON.parse(readFileSync(path.join(out, 'results', 'latest.json'), 'utf8')) as BenchResults;
    expect([...new Set(results.figures.map((figure) => figure.id))].sort((a, b) => a - b)).to.deep.equal([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    const unmeasured = results.figures.filter((figure) => figure.status !== 'measured');
    expect(unmeasured.map((figure) => `${figure.id} ${figure.subject ?? ''}: ${figure.reason}`), stderr).to.deep.equal([]);
    for (const figure of results.figures.filter((f) => f.target.ratioAtLeast !== undefined)) {
      expect(figure.ratio, `figure ${figure.id} ratio`).to.be.a('number').greaterThan(0);
    }
    expect(results.machine.cores).to.be.greaterThan(0);

    expect(readFileSync(path.join(out, 'REPORT.md'), 'utf8')).to.include('| figure | value | limit | ratio | target | pass/fail |');
    for (const chart of ['throughput.svg', 'post-latency.svg', 'commit-to-confirm.svg', 'end-to-end.svg', 'memory.svg']) {
      expect(existsSync(path.join(out, 'charts', chart)), chart).to.equal(true);
      expect(readFileSync(path.join(out, 'charts', chart), 'utf8')).to.match(/^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    }
  });
});
