import { sql } from 'kysely';
import { RelayEnv } from '@order-service/relay/config';
import { declareOrdersExchange, envelopeOf, loadConfig, notifyOutbox, Topology } from '@order-service/shared';
import { declareBenchQueue, publishWindowed } from '../lib/amqp';
import { addCpu, CpuMeter, waitForQuietBroker } from '../lib/cpu';
import type { BenchEnvironment } from '../lib/environment';
import { capturePostOrder, insertOutboxBacklog, orderCreatedBody } from '../lib/fixtures';
import type { Scale } from '../lib/options';
import { samplePgActivity } from '../lib/pg-activity';
import { sleep } from '../lib/processes';
import { progress } from '../lib/progress';
import { metricValue, scrape } from '../lib/prometheus';
import { measured, type Run } from '../report/results';
import { FIGURES } from './meta';
import type { FigureOutput } from './types';

export const AUDIT_QUEUE = 'bench.orders-audit';

/**
 * Figure 3: how fast the running relay drains a backlog of `scale.backlog` outbox rows that
 * become visible at one commit, hinted as the API hints its commits (from the commit to the last row confirmed and marked), divided
 * by a bare rabbitmq-client publisher sending the same bodies, with the same properties, with
 * as many confirms outstanding as the relay allows (batch size × batches in flight).
 */
export async function measureRelayDrain(env: BenchEnvironment, scale: Scale): Promise<FigureOutput> {
  await env.resetTables();
  // The API may stay up, idle (figure 4 needs it next); nothing else may publish or consume.
  const { relay } = await env.only(['relay'], { mayIdle: ['api'] });
  const settings = loadConfig(RelayEnv, { ...process.env, ...env.serviceEnv() });
  const window = settings.RELAY_BATCH_SIZE * settings.RELAY_MAX_BATCHES_IN_FLIGHT;
  const connection = env.connection();
  await declareOrdersExchange(connection);
  // The destination both publishers route to: a quorum queue, like the simulator's.
  const audit = await declareBenchQueue(connection, AUDIT_QUEUE, Topology.ordersExchange, Topology.orderCreatedKey);
  const { payloadTemplate } = await capturePostOrder();
  const publisher = connection.createPublisher({ confirm: true, maxAttempts: 1 });
  const anyPending = async () =>
    (await sql<{ pending: boolean }>`select exists (select 1 from outbox where parked_at is null) as pending`.execute(env.db)).rows[0]!
      .pending;

  // Each publisher starts once the broker is quiet after the purge of the run before it, so
  // neither is measured beside the broker's clean-up of 50,000 messages (the relay's drain always
  // follows a purge of the bare run's messages; the bare run, from its second run on, of the relay's).
  const quietWaitsMs: number[] = [];
  const purgeAndSettle = async () => {
    await audit.purge();
    quietWaitsMs.push((await waitForQuietBroker(env)).waitedMs);
  };

  // The bare publisher runs in this process: its own CPU per event, beside the relay's per process,
  // and what every process spent meanwhile (the broker's share, to set beside its share of the drains).
  const bare = async (count: number) => {
    await purgeAndSettle();
    const meter = await CpuMeter.start(env);
    const cpuBefore = process.cpuUsage();
    const seconds = await publishWindowed(publisher, count, window, () => {
      const { body, eventId, orderId } = orderCreatedBody(payloadTemplate);
      const envelope = envelopeOf({
        event_id: eventId,
        event_type: 'OrderCreated',
        aggregate_id: orderId,
        exchange: Topology.ordersExchange,
        routing_key: Topology.orderCreatedKey,
        traceparent: null,
        tracestate: null,
        created_ms: Date.now(),
      });
      return { envelope, body: Buffer.from(body) };
    });
    const used = process.cpuUsage(cpuBefore);
    return { rate: count / seconds, cpu: await meter.stop(), ownMicrosPerEvent: Math.round(((used.user + used.system) / count) * 10) / 10 };
  };

  const drain = async (count: number) => {
    await purgeAndSettle();
    const activity = samplePgActivity(env.db, env.database.name, ['order-service-relay'], 50);
    const before = metricValue(await scrape(relay!.port), 'relay_published_total') ?? 0;
    await insertOutboxBacklog(env.db, count, payloadTemplate);
    // From the commit on: the insert's own work (its backend, the WAL writer) is not the drain's.
    const meter = await CpuMeter.start(env);
    const committed = performance.now();
    // The hint every writer sends after its commit, as the API does: without it the figure would
    // time the relay's idle poll (up to RELAY_POLL_INTERVAL_MS) instead of its drain.
    await notifyOutbox(env.db);
    // Watch cheaply, so watching does not slow the relay: the audit queue's depth (one broker
    // round trip) until every message arrived, then the table until no row is left unmarked.
    // (Scraping /metrics would make the relay count its backlog in Postgres on every scrape.)
    const deadline = Date.now() + Math.max(120_000, count * 10);
    while ((await audit.depth()) < count) {
      if (Date.now() > deadline) throw new Error(`the relay published ${await audit.depth()} of ${count} rows before the deadline`);
      await sleep(50);
    }
    while (await anyPending()) {
      if (Date.now() > deadline) throw new Error('the relay did not settle every published row before the deadline');
      await sleep(5);
    }
    const rate = count / ((performance.now() - committed) / 1000);
    const used = await meter.stop();
    const sessions = await activity.stop();
    const published = (metricValue(await scrape(relay!.port), 'relay_published_total') ?? 0) - before;
    if (published < count) throw new Error(`relay_published_total rose by ${published}, expected ${count}`);
    return { rate, cpu: used, sessions };
  };

  try {
    // Each side publishes a smaller backlog first, unmeasured: the runs measure code the JIT has
    // compiled, not the first drain of a relay just started or the bench's first publishes.
    if (scale.warmupSeconds > 0) {
      progress('figure 3: warming up');
      const warmup = Math.min(scale.backlog, Math.round(scale.warmupSeconds * 5_000));
      await bare(warmup);
      await drain(warmup);
    }
    const runs: Run[] = [];
    const cpu: Record<string, number> = {};
    const cpuDuringBare: Record<string, number> = {};
    const bareCpuMicrosPerEvent: number[] = [];
    let lastActivity: unknown;
    for (let i = 1; i <= scale.runs; i++) {
      const limitRun = await bare(scale.backlog);
      const drained = await drain(scale.backlog);
      addCpu(cpuDuringBare, limitRun.cpu);
      bareCpuMicrosPerEvent.push(limitRun.ownMicrosPerEvent);
      addCpu(cpu, drained.cpu);
      lastActivity = drained.sessions;
      const { rate: value } = drained;
      const { rate: limit } = limitRun;
      runs.push({ value, limit, ratio: value / limit });
      progress(`figure 3 run ${i}/${scale.runs}: relay ${value.toFixed(0)} events/s, bare publisher ${limit.toFixed(0)} events/s → ${(value / limit).toFixed(2)}`);
    }
    return {
      figures: [
        measured(
          {
            ...FIGURES.relayDrain,
            limitName: `bare rabbitmq-client publisher with confirms, ${window} in flight, same body`,
            details: {
              backlog: scale.backlog,
              inFlightWindow: window,
              batchSize: settings.RELAY_BATCH_SIZE,
              batchesInFlight: settings.RELAY_MAX_BATCHES_IN_FLIGHT,
              queue: `${AUDIT_QUEUE} (quorum)`,
              brokerQuietAfterPurgeMs: quietWaitsMs,
              cpuSecondsDuringDrains: cpu,
              cpuSecondsDuringBarePublishes: cpuDuringBare,
              barePublisherCpuMicrosPerEvent: bareCpuMicrosPerEvent,
              relaySessionsInLastDrain: lastActivity,
            },
          },
          runs,
        ),
      ],
    };
  } finally {
    await publisher.close();
    await audit.purge().catch(() => {});
  }
}
