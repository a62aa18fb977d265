import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/*
 * Summarises V8 CPU profiles (from `pnpm bench --profile <dir>`, which starts the services with
 * --cpu-prof): the functions and the packages that took the most self time, per profile.
 * Usage: node --import tsx bench/profile-summary.ts <dir> [top=25]
 */

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Where a script comes from: an npm package, node itself, or the project's own code. */
function origin(url: string): string {
  if (url === '') return '(native / garbage collector / idle)';
  if (url.startsWith('node:')) return 'node core';
  const pkg = /node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  const own = /\/(services\/[^/]+|packages\/[^/]+)\//.exec(url);
  return own ? own[1]! : url;
}

function summarise(file: string, top: number): string {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfMicros = new Map<number, number>();
  profile.samples.forEach((id, i) => selfMicros.set(id, (selfMicros.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const total = [...selfMicros.values()].reduce((a, b) => a + b, 0);
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const nameOf = (id: number) => {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    return `${functionName || '(anonymous)'} ${url ? `${url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*?\/(services|packages)\//, '$1/')}:${lineNumber + 1}` : ''}`;
  };
  const functions = new Map<string, number>();
  const origins = new Map<string, number>();
  // Inclusive time: each function on a sample's stack gets the sample once (recursion counted once).
  const inclusive = new Map<string, number>();
  let busy = 0;
  for (const [id, micros] of selfMicros) {
    const { url } = byId.get(id)!.callFrame;
    functions.set(nameOf(id), (functions.get(nameOf(id)) ?? 0) + micros);
    origins.set(origin(url), (origins.get(origin(url)) ?? 0) + micros);
    if (['(idle) ', '(program) ', '(garbage collector) '].includes(nameOf(id))) continue;
    busy += micros;
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const name = nameOf(at);
      if (seen.has(name) || name.startsWith('(root)')) continue;
      seen.add(name);
      inclusive.set(name, (inclusive.get(name) ?? 0) + micros);
    }
  }
  const pct = (micros: number) => `${((micros / total) * 100).toFixed(1).padStart(5)}%`;
  const sorted = (map: Map<string, number>) => [...map].sort((a, b) => b[1] - a[1]);
  return [
    `== ${path.basename(file)}: ${(total / 1e6).toFixed(1)} s sampled`,
    '-- by origin',
    ...sorted(origins).slice(0, 12).map(([name, micros]) => `${pct(micros)}  ${name}`),
    '-- by function (self time)',
    ...sorted(functions).slice(0, top).map(([name, micros]) => `${pct(micros)}  ${name}`),
    `-- by function (inclusive, % of the ${(busy / 1e6).toFixed(1)} s spent running JavaScript or native code for it)`,
    ...sorted(inclusive)
      .slice(0, top)
      .map(([name, micros]) => `${((micros / busy) * 100).toFixed(1).padStart(5)}%  ${name}`),
    '',
  ].join('\n');
}

const [dir, topArg] = process.argv.slice(2);
if (!dir) {
  console.error('usage: node --import tsx bench/profile-summary.ts <dir> [top]');
  process.exit(2);
}
for (const file of readdirSync(dir).filter((name) => name.endsWith('.cpuprofile')).sort()) {
  console.log(summarise(path.join(dir, file), Number(topArg ?? 25)));
}
