import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { addCpu, CpuMeter } from '../lib/cpu';
import type { BenchEnvironment } from '../lib/environment';
import { orderBody } from '../lib/fixtures';
import { interleave, type Slice } from '../lib/interleave';
import { hammer, request } from '../lib/load';
import type { Scale } from '../lib/options';
import { startProcess } from '../lib/processes';
import { progress } from '../lib/progress';
import { measured, type Run } from '../report/results';
import { FIGURES } from './meta';
import type { FigureOutput } from './types';

/**
 * Figure 2: cached GET /api/orders/{id} reads/s, divided by a bare express route serving the
 * same JSON bodies from memory (bench/baselines/bare-express.ts), both driven by the same
 * autocannon settings, interleaved.
 */
export async function measureGetOrder(env: BenchEnvironment, scale: Scale): Promise<FigureOutput> {
  const { api } = await env.only(['api']);
  await env.resetTables();
  const port = api!.port;

  progress(`figure 2: creating and caching ${scale.cachedOrders} orders`);
  const bodies: Record<string, string> = {};
  for (let i = 0; i < scale.cachedOrders; i++) {
    const created = await request<{ order_id: string }>(port, 'POST', '/api/orders', orderBody());
    if (created.status !== 201) throw new Error(`POST /api/orders answered ${created.status}`);
    bodies[created.body.order_id] = '';
  }
  // The first read misses and fills the cache (without awaiting the write); the second hits.
  for (const id of Object.keys(bodies)) await request(port, 'GET', `/api/orders/${id}`);
  for (const id of Object.keys(bodies)) bodies[id] = JSON.stringify((await request(port, 'GET', `/api/orders/${id}`)).body);
  const paths = Object.keys(bodies).map((id) => `/api/orders/${id}`);

  const dir = mkdtempSync(path.join(tmpdir(), 'bench-bare-'));
  writeFileSync(path.join(dir, 'bodies.json'), JSON.stringify(bodies));
  const bare = await startProcess({
    role: 'bare-express',
    entry: 'bench/baselines/bare-express.ts',
    env: { BARE_BODIES: path.join(dir, 'bodies.json') },
    memory: env.memory,
    nodeArgs: env.profileArgs('bare-express'),
  });
  try {
    let failures = 0;
    const cpu: Record<string, number> = {};
    const read = async (target: number, seconds: number): Promise<Slice> => {
      const meter = target === port ? await CpuMeter.start(env) : undefined;
      const result = await hammer({ port: target, connections: scale.getConnections, seconds, method: 'GET', paths });
      if (meter) addCpu(cpu, await meter.stop());
      if (target === port) failures += result.non2xx + result.errors;
      return { count: result.ok, seconds: result.seconds, latenciesMs: result.latenciesMs };
    };
    if (scale.warmupSeconds > 0) {
      progress('figure 2: warming up');
      await read(bare.port, scale.warmupSeconds);
      await read(port, scale.warmupSeconds);
      for (const key of Object.keys(cpu)) delete cpu[key];
    }
    const runs: Run[] = [];
    for (let i = 1; i <= scale.runs; i++) {
      const { limit, figure } = await interleave(
        scale.httpSeconds,
        scale.sliceSeconds,
        (seconds) => read(bare.port, seconds),
        (seconds) => read(port, seconds),
      );
      if (figure.rate === 0) throw new Error(`no GET succeeded (${failures} failures)`);
      runs.push({ value: figure.rate, limit: limit.rate, ratio: figure.rate / limit.rate, p50Ms: figure.p50Ms, p99Ms: figure.p99Ms });
      progress(
        `figure 2 run ${i}/${scale.runs}: api ${figure.rate.toFixed(0)} reads/s (p99 ${figure.p99Ms.toFixed(1)} ms), ` +
          `bare express ${limit.rate.toFixed(0)} reads/s (p99 ${limit.p99Ms.toFixed(1)} ms) → ${(figure.rate / limit.rate).toFixed(2)}`,
      );
    }
    return {
      figures: [
        measured(
          {
            ...FIGURES.getOrder,
            limitName: `bare express route, same JSON from memory, ${scale.getConnections} connections`,
            details: { connections: scale.getConnections, orders: scale.cachedOrders, secondsPerRun: scale.httpSeconds, sliceSeconds: scale.sliceSeconds, failures, cpuSecondsDuringApiSlices: cpu },
          },
          runs,
        ),
      ],
    };
  } finally {
    await bare.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
