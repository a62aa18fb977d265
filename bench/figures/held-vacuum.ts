import pg from 'pg';
import { sql } from 'kysely';
import { Topology, declareOrdersExchange } from '@order-service/shared';
import { declareBenchQueue } from '../lib/amqp';
import type { BenchEnvironment } from '../lib/environment';
import { orderBody } from '../lib/fixtures';
import { hammer } from '../lib/load';
import type { Scale } from '../lib/options';
import { progress } from '../lib/progress';
import { metricValue, scrape } from '../lib/prometheus';
import { measured } from '../report/results';
import { FIGURES } from './meta';
import type { FigureOutput } from './types';

const QUEUE = 'bench.held-vacuum';

interface Window {
  postsPerSecond: number;
  postP99Ms: number;
  /** Events the relay confirmed and marked per second, over the same window. */
  drainPerSecond: number;
  /** Rows still pending when the load stopped: how far the relay fell behind. */
  pendingAtEnd: number;
  deadOutboxTuples: number;
  vacuumHeldBack: boolean;
}

/**
 * Figure 11: the outbox is a queue in Postgres, and every published row leaves a dead tuple
 * behind (the settle's UPDATE, or a retention DELETE) that only vacuum removes. A long
 * transaction elsewhere (a report, a stuck session) holds back the horizon vacuum may clean up
 * to, so dead tuples pile up for as long as it stays open. This runs the same closed-loop POST
 * load (with the relay draining beside it) twice, for `heldVacuumSeconds` each: once as is, once
 * with a transaction that took a snapshot at the start and stays open throughout. The figure is
 * the worse of two ratios, held / free: the relay's drain rate, and the POST p99 (free / held,
 * so that slower is smaller).
 */
export async function measureHeldVacuum(env: BenchEnvironment, scale: Scale): Promise<FigureOutput> {
  const { api, relay } = await env.only(['api', 'relay']);
  const connection = env.connection();
  await declareOrdersExchange(connection);
  // The events need a destination, as in production (the simulator's queue).
  const queue = await declareBenchQueue(connection, QUEUE, Topology.ordersExchange, Topology.orderCreatedKey);
  const body = JSON.stringify(orderBody());

  const window = async (holdVacuum: boolean): Promise<Window> => {
    await env.resetTables();
    await queue.purge();
    const holder = holdVacuum ? await openLongTransaction(env.database.url) : undefined;
    try {
      const before = metricValue(await scrape(relay!.port), 'relay_published_total') ?? 0;
      const http = await hammer({ port: api!.port, connections: scale.postConnections, seconds: scale.heldVacuumSeconds, method: 'POST', paths: ['/api/orders'], body });
      const published = (metricValue(await scrape(relay!.port), 'relay_published_total') ?? 0) - before;
      const { rows } = await sql<{ pending: string; dead: string; held: boolean }>`
        select (select count(*) from outbox where parked_at is null) as pending,
               (select n_dead_tup from pg_stat_user_tables where relname = 'outbox') as dead,
               ${holdVacuum} as held`.execute(env.db);
      return {
        postsPerSecond: http.rate,
        postP99Ms: http.p99Ms,
        drainPerSecond: published / http.seconds,
        pendingAtEnd: Number(rows[0]!.pending),
        deadOutboxTuples: Number(rows[0]!.dead),
        vacuumHeldBack: rows[0]!.held,
      };
    } finally {
      await holder?.end();
    }
  };

  try {
    const free = await window(false);
    progress(describe('free', free));
    const held = await window(true);
    progress(describe('held', held));
    const drainRatio = held.drainPerSecond / free.drainPerSecond;
    const p99Ratio = free.postP99Ms / held.postP99Ms;
    const ratio = Math.min(drainRatio, p99Ratio);
    return {
      figures: [
        measured(
          {
            ...FIGURES.heldVacuum,
            limitName: 'the same load without the long transaction',
            details: { seconds: scale.heldVacuumSeconds, connections: scale.postConnections, drainRatio, p99Ratio, free, held },
          },
          [{ value: ratio, limit: 1, ratio }],
        ),
      ],
    };
  } finally {
    await queue.purge().catch(() => {});
  }
}

const describe = (name: string, w: Window) =>
  `figure 11 ${name}: POST ${w.postsPerSecond.toFixed(0)}/s p99 ${w.postP99Ms.toFixed(1)} ms, relay ${w.drainPerSecond.toFixed(0)} events/s, ` +
  `${w.pendingAtEnd} pending at the end, ${w.deadOutboxTuples} dead outbox tuples`;

/** A session that took a snapshot and keeps it: vacuum may remove nothing that died after it. */
async function openLongTransaction(databaseUrl: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: databaseUrl, application_name: 'bench-long-transaction' });
  await client.connect();
  await client.query('begin isolation level repeatable read');
  await client.query('select txid_current(), count(*) from products');
  return client;
}
