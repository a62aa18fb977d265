import { Connection } from 'rabbitmq-client';
import { declareOrdersExchange, Topology } from '@order-service/shared';
import { bodyText, consumeQueue, declareBenchQueue } from '../lib/amqp';
import { waitForQuietBroker } from '../lib/cpu';
import type { BenchEnvironment } from '../lib/environment';
import { capturePostOrder, orderBody, orderCreatedBody } from '../lib/fixtures';
import { request } from '../lib/load';
import type { Scale } from '../lib/options';
import { sleep } from '../lib/processes';
import { progress } from '../lib/progress';
import { histogram, metricValue, scrape } from '../lib/prometheus';
import { bucketDelta, histogramQuantile, quantile } from '../lib/stats';
import { distribution, measured, type Run } from '../report/results';
import { FIGURES } from './meta';
import { AUDIT_QUEUE } from './relay-drain';
import type { FigureOutput } from './types';

const HISTOGRAM = 'relay_commit_to_confirm_seconds';

/**
 * Figure 4: at idle (one POST every `idleIntervalMs`), the time from an order's outbox row
 * being written to the broker confirming its event. Read from the relay's own histogram
 * (difference of two scrapes, interpolated inside buckets), and checked independently by an
 * audit queue bound to `orders`: receive time minus the event's `time` (set by the API just
 * before its transaction, so this also includes the transaction and the delivery to us).
 */
export async function measureCommitToConfirm(env: BenchEnvironment, scale: Scale): Promise<FigureOutput> {
  await env.resetTables();
  const { api, relay } = await env.only(['api', 'relay']);
  const connection = env.connection();
  await declareOrdersExchange(connection);
  const audit = await declareBenchQueue(connection, AUDIT_QUEUE, Topology.ordersExchange, Topology.orderCreatedKey);
  await audit.purge();

  const received = new Map<string, number>();
  const consumer = consumeQueue(connection, AUDIT_QUEUE, (message, receivedAt) => {
    const event = JSON.parse(bodyText(message.body)) as { data: { order_id: string }; time: string };
    received.set(event.data.order_id, receivedAt - Date.parse(event.time));
  });
  try {
    const quiet = await waitForQuietBroker(env);
    progress(`figure 4: the broker was quiet after ${quiet.waitedMs} ms (${(quiet.share * 100).toFixed(0)} % of a core in the last 500 ms)`);
    const floor = await brokerConfirmFloor(env, Math.min(100, scale.idleOrders));
    progress(`figure 4: a bare publish → confirm to the same queue takes p50 ${quantile(floor, 0.5).toFixed(2)} ms, p99 ${quantile(floor, 0.99).toFixed(2)} ms`);
    const runs: Run[] = [];
    const auditSamples: number[] = [];
    const relayQuantiles: Array<{ p50: number; p99: number }> = [];
    for (let i = 1; i <= scale.runs; i++) {
      const before = histogram(await scrape(relay!.port), HISTOGRAM);
      const orders: string[] = [];
      const start = performance.now();
      for (let n = 0; n < scale.idleOrders; n++) {
        const wait = start + n * scale.idleIntervalMs - performance.now();
        if (wait > 0) await sleep(wait);
        const created = await request<{ order_id: string }>(api!.port, 'POST', '/api/orders', orderBody());
        if (created.status !== 201) throw new Error(`POST /api/orders answered ${created.status}`);
        orders.push(created.body.order_id);
      }
      const deadline = Date.now() + 30_000;
      while (orders.some((id) => !received.has(id))) {
        if (Date.now() > deadline) throw new Error(`the audit queue received ${orders.filter((id) => received.has(id)).length} of ${orders.length} events`);
        await sleep(20);
      }
      const after = histogram(await scrape(relay!.port), HISTOGRAM);
      if (!after) throw new Error(`the relay exports no ${HISTOGRAM}`);
      const delta = bucketDelta(after, before);
      const p50Ms = histogramQuantile(delta, 0.5) * 1000;
      const p99Ms = histogramQuantile(delta, 0.99) * 1000;
      const samples = orders.map((id) => received.get(id)!);
      auditSamples.push(...samples);
      relayQuantiles.push({ p50: p50Ms, p99: p99Ms });
      runs.push({ value: p99Ms, p50Ms, p99Ms });
      progress(
        `figure 4 run ${i}/${scale.runs}: relay histogram p50 ${p50Ms.toFixed(2)} ms, p99 ${p99Ms.toFixed(2)} ms; ` +
          `audit queue p50 ${quantile(samples, 0.5).toFixed(2)} ms, p99 ${quantile(samples, 0.99).toFixed(2)} ms (${delta.counts.at(-1)} observations)`,
      );
    }
    const figure = measured(
      {
        ...FIGURES.commitToConfirm,
        details: {
          ordersPerRun: scale.idleOrders,
          intervalMs: scale.idleIntervalMs,
          source: `${HISTOGRAM} (bucket-interpolated)`,
          auditP50Ms: quantile(auditSamples, 0.5),
          auditP99Ms: quantile(auditSamples, 0.99),
          auditNote: 'audit = receive time at a queue bound to orders − the event time (set before the API transaction)',
          brokerConfirmFloorP50Ms: quantile(floor, 0.5),
          brokerConfirmFloorP99Ms: quantile(floor, 0.99),
          floorNote: 'one bare publish at a time to the same quorum queue, send → confirm: what the broker alone takes',
          brokerQuietAfterMs: quiet.waitedMs,
          quietNote: 'measured once the broker used at most 5 % of a core over 500 ms (it cleans up after the drains of figure 3)',
        },
      },
      runs,
    );
    return {
      figures: [figure, await idleRelayCost(relay!.port, scale.idleCostSeconds)],
      distributions: {
        commitToConfirm: distribution('Commit → broker confirm at idle: audit queue (event time → received)', auditSamples, [
          { label: 'relay histogram p50', ms: figure.p50Ms ?? NaN },
          { label: 'relay histogram p99', ms: figure.p99Ms ?? NaN },
          { label: 'bare publish → confirm p50 (broker alone)', ms: quantile(floor, 0.5) },
          { label: 'target p99', ms: 20 },
        ]),
      },
    };
  } finally {
    await consumer.close();
    await audit.delete().catch(() => {});
  }
}

/**
 * Figure 8: what a relay costs Postgres while nothing happens, from its own claim counter over
 * an idle window (after its fast polls have backed off): each claim is BEGIN, the claim and COMMIT.
 */
async function idleRelayCost(port: number, seconds: number) {
  await sleep(2_000);
  const claims = async () => metricValue(await scrape(port), 'relay_claims_total') ?? NaN;
  const before = await claims();
  const started = performance.now();
  await sleep(seconds * 1000);
  const perSecond = ((await claims()) - before) / ((performance.now() - started) / 1000);
  progress(`figure 8: an idle relay makes ${perSecond.toFixed(2)} claims/s, ${(3 * perSecond).toFixed(2)} statements/s`);
  return measured(
    { ...FIGURES.idleRelay, details: { windowSeconds: seconds, claimsPerSecond: perSecond, statementsPerClaim: 3 } },
    [{ value: 3 * perSecond }],
  );
}

/**
 * The broker's own share: one bare publish at a time to the audit queue, send → confirm, in ms,
 * on a connection of its own that only publishes (as the relay's does).
 */
async function brokerConfirmFloor(env: BenchEnvironment, count: number): Promise<number[]> {
  const connection = new Connection({ url: env.vhost.url, connectionName: 'bench-floor' });
  const publisher = connection.createPublisher({ confirm: true, maxAttempts: 1 });
  const { payloadTemplate } = await capturePostOrder();
  const samples: number[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const { body, eventId, orderId } = orderCreatedBody(payloadTemplate);
      const started = performance.now();
      await publisher.send(
        { exchange: Topology.ordersExchange, routingKey: Topology.orderCreatedKey, durable: true, messageId: eventId, correlationId: orderId, contentType: 'application/json' },
        Buffer.from(body),
      );
      samples.push(performance.now() - started);
      await sleep(5);
    }
  } finally {
    await publisher.close();
    await connection.close();
  }
  return samples;
}
