import { sql } from 'kysely';
import { countParked, pendingStats } from '@order-service/shared/db/outbox-stats';
import { Topology } from '@order-service/shared/events/topology';
import type { Clients } from './clients';
import type { OpsConfig } from './config';
import { ExitCode, type CommandResult } from './exit-codes';
import { describeError, duration, fields, section, table } from './format';
import { probeAll, type ProcessProbe } from './probes';

type Part<T> = ({ ok: true } & T) | { ok: false; error: string };

async function part<T>(read: () => Promise<T>): Promise<Part<T>> {
  try {
    return { ok: true, ...(await read()) };
  } catch (error) {
    return { ok: false, error: describeError(error) };
  }
}

/** Pending rows, the oldest one's age, and parked rows: what the relay has left to do. */
async function readOutbox(clients: Clients) {
  const db = clients.db();
  const [pending, parked] = await Promise.all([pendingStats(db), countParked(db)]);
  return { backlog: pending.backlog, oldest_age_seconds: pending.oldestAgeSeconds, parked };
}

async function readInbox(clients: Clients) {
  const row = await sql<{ size: string }>`SELECT count(*) AS size FROM processed_events`
    .execute(clients.db())
    .then((result) => result.rows[0]!);
  return { size: Number(row.size) };
}

/** Depth and consumers of a queue; a queue that does not exist (yet) is reported, not an error. */
async function queueDepth(clients: Clients, queue: string) {
  const connection = await clients.amqp();
  try {
    const ok = await connection.queueDeclare({ queue, passive: true });
    return { queue, exists: true, messages: ok.messageCount, consumers: ok.consumerCount };
  } catch (error) {
    if ((error as { code?: unknown }).code === 'NOT_FOUND') return { queue, exists: false, messages: 0, consumers: 0 };
    throw error;
  }
}

async function readQueues(clients: Clients) {
  // One after the other: a failed passive declare closes the channel the next one would share.
  const payments = await queueDepth(clients, Topology.paymentQueue);
  const dlq = await queueDepth(clients, Topology.paymentDlq);
  return { payments, dlq };
}

async function readRedis(clients: Clients) {
  const redis = await clients.redis();
  await redis.ping();
  return {};
}

/**
 * `ops status`: the outbox backlog, the oldest unpublished row's age, parked rows, the DLQ depth,
 * the inbox size, Redis, and every process's readiness. Unhealthy (exit 3) when something cannot
 * be read or a process is not ready; parked rows and dead letters are flagged but are data.
 */
export async function status(clients: Clients, config: OpsConfig): Promise<CommandResult> {
  const [outbox, inbox, queues, redis, processes] = await Promise.all([
    part(() => readOutbox(clients)),
    part(() => readInbox(clients)),
    part(() => readQueues(clients)),
    part(() => readRedis(clients)),
    probeAll(
      {
        api: config.OPS_API_URL,
        relay: config.OPS_RELAY_URLS,
        consumer: config.OPS_CONSUMER_URLS,
        simulator: config.OPS_SIMULATOR_URLS,
      },
      config.OPS_TIMEOUT_MS,
    ),
  ]);
  const problems = [
    ...(outbox.ok ? [] : [`outbox: ${outbox.error}`]),
    ...(inbox.ok ? [] : [`inbox: ${inbox.error}`]),
    ...(queues.ok ? [] : [`rabbitmq: ${queues.error}`]),
    ...(redis.ok ? [] : [`redis: ${redis.error}`]),
    ...processes.filter((p) => p.status !== 'ready').map((p) => `${p.process} ${p.url}: ${p.status}${p.error ? ` (${p.error})` : ''}`),
  ];
  const attention = [
    ...(outbox.ok && outbox.parked > 0 ? [`${outbox.parked} parked outbox row(s): pnpm ops outbox parked`] : []),
    ...(queues.ok && queues.dlq.messages > 0 ? [`${queues.dlq.messages} dead-lettered message(s): pnpm ops dlq list`] : []),
  ];
  const healthy = problems.length === 0;
  const data = { healthy, problems, attention, outbox, inbox, queues, redis, processes };
  return { exitCode: healthy ? ExitCode.ok : ExitCode.unhealthy, data, text: render(data) };
}

function render(data: {
  healthy: boolean;
  problems: string[];
  attention: string[];
  outbox: Part<{ backlog: number; oldest_age_seconds: number | null; parked: number }>;
  inbox: Part<{ size: number }>;
  queues: Part<Awaited<ReturnType<typeof readQueues>>>;
  redis: Part<object>;
  processes: ProcessProbe[];
}): string {
  const { outbox, inbox, queues, redis } = data;
  const queueText = (q: { exists: boolean; messages: number; consumers: number }) =>
    q.exists ? `${q.messages} messages, ${q.consumers} consumers` : 'not declared yet';
  const blocks = [
    section(
      'OUTBOX',
      outbox.ok
        ? fields([
            ['backlog', outbox.backlog],
            ['oldest unpublished', outbox.oldest_age_seconds === null ? 'none' : duration(outbox.oldest_age_seconds)],
            ['parked', outbox.parked],
          ])
        : `unavailable: ${outbox.error}`,
    ),
    section(
      'QUEUES',
      queues.ok
        ? fields([
            [queues.payments.queue, queueText(queues.payments)],
            [queues.dlq.queue, queueText(queues.dlq)],
          ])
        : `unavailable: ${queues.error}`,
    ),
    section('INBOX', inbox.ok ? fields([['processed_events', `${inbox.size} rows`]]) : `unavailable: ${inbox.error}`),
    section('REDIS', redis.ok ? 'up' : `down: ${redis.error}`),
    section(
      'PROCESSES',
      data.processes.length === 0
        ? 'none configured (OPS_API_URL, OPS_RELAY_URLS, OPS_CONSUMER_URLS)'
        : table(
            ['PROCESS', 'URL', 'STATUS', 'CHECKS'],
            data.processes.map((p) => [
              p.process,
              p.url,
              p.status,
              p.error ?? Object.entries(p.checks ?? {}).map(([name, state]) => `${name}=${state}`).join(' '),
            ]),
          ),
    ),
  ];
  if (data.attention.length > 0) blocks.push(section('ATTENTION', data.attention.join('\n')));
  blocks.push(data.healthy ? 'HEALTHY' : section('UNHEALTHY', data.problems.join('\n')));
  return blocks.join('\n\n');
}
