import type { Channel, Connection, Envelope, SyncMessage } from 'rabbitmq-client';
import { carriedProperties } from '@order-service/shared/amqp';
import { BROKER_PATH_HEADERS, DEAD_LETTER_MARKS, DeadLetterHeader, RedriveHeader } from '@order-service/shared/events/dead-letter';
import { Topology } from '@order-service/shared/events/topology';
import { ExitCode, type CommandResult } from './exit-codes';
import { clip, table } from './format';
import { NO_PROGRESS, type StartProgress } from './progress';

/** Headers the broker adds when it dead-letters by itself (the queue's delivery limit). */

interface DeathRecord {
  queue?: unknown;
  reason?: unknown;
  count?: unknown;
}

/** One dead letter as operators read it. */
export function describeDeadLetter(msg: SyncMessage) {
  const headers = msg.headers ?? {};
  const deaths = Array.isArray(headers['x-death']) ? (headers['x-death'] as DeathRecord[]) : [];
  const firstDeath = deaths[0];
  const body = readableBody(msg.body);
  const data = typeof body === 'object' && body !== null ? (body as { data?: { order_id?: unknown } }).data : undefined;
  return {
    message_id: msg.messageId ?? null,
    order_id: (typeof data?.order_id === 'string' ? data.order_id : msg.correlationId) ?? null,
    // The consumer's reason; for a broker dead-letter, the broker's (e.g. delivery_limit).
    code: (headers[DeadLetterHeader.code] as string | undefined) ?? (firstDeath ? `broker:${String(firstDeath.reason)}` : null),
    reason:
      (headers[DeadLetterHeader.reason] as string | undefined) ??
      (firstDeath ? `${String(firstDeath.reason)} in ${String(firstDeath.queue)} (${String(firstDeath.count)}x)` : null),
    attempts: (headers[DeadLetterHeader.attempts] as number | undefined) ?? null,
    dead_lettered_at: (headers[DeadLetterHeader.deadLetteredAt] as string | undefined) ?? null,
    redrive_count: Number(headers[RedriveHeader.count] ?? 0),
    headers,
    body,
  };
}

function notDeclared(queue: string): CommandResult {
  return {
    exitCode: ExitCode.notFound,
    data: { error: `queue ${queue} does not exist` },
    text: `Queue ${queue} does not exist yet; the consumer declares it when it starts.`,
  };
}

const isNotFound = (error: unknown) => (error as { code?: unknown }).code === 'NOT_FOUND';

/** The queue's depth, or the not-found result when it has not been declared yet (a passive declare creates nothing). */
async function queueDepth(connection: Connection, queue: string): Promise<number | CommandResult> {
  try {
    const ok = await connection.queueDeclare({ queue, passive: true });
    return ok.messageCount;
  } catch (error) {
    if (isNotFound(error)) return notDeclared(queue);
    throw error;
  }
}

/**
 * `ops dlq list`: browses the DLQ without removing anything. Messages are fetched unacknowledged
 * and returned to the queue when the channel closes. The DLQ is a quorum queue without a
 * delivery limit, so browsing can never drop a message (it only sets the redelivered flag).
 */
export async function listDeadLetters(connection: Connection, limit: number): Promise<CommandResult> {
  const depth = await queueDepth(connection, Topology.paymentDlq);
  if (typeof depth !== 'number') return depth;
  const channel = await connection.acquire();
  const messages: ReturnType<typeof describeDeadLetter>[] = [];
  try {
    while (messages.length < Math.min(limit, depth)) {
      const msg = await channel.basicGet({ queue: Topology.paymentDlq, noAck: false });
      if (!msg) break;
      messages.push(describeDeadLetter(msg));
    }
  } finally {
    // Closing the channel returns every unacknowledged message to the queue.
    await channel.close();
  }
  const text =
    depth === 0
      ? `The dead-letter queue ${Topology.paymentDlq} is empty.`
      : [
          table(
            ['MESSAGE ID', 'ORDER', 'CODE', 'ATTEMPTS', 'REDRIVEN', 'DEAD-LETTERED AT', 'REASON'],
            messages.map((m) => [m.message_id, m.order_id, m.code, m.attempts, m.redrive_count, m.dead_lettered_at, clip(m.reason, 70)]),
          ),
          '',
          `${depth} message(s) in ${Topology.paymentDlq}${depth > messages.length ? `, ${messages.length} shown (--limit)` : ''}. ` +
            'Fix the cause, then: pnpm ops dlq redrive [--limit N]',
        ].join('\n');
  return { exitCode: ExitCode.ok, data: { depth, messages }, text };
}

/** The message as it goes back to the consumer's queue: unchanged, minus the dead-letter marks. */
export function redriveEnvelope(msg: SyncMessage, redrivenAt: Date): Envelope {
  const headers = Object.fromEntries(
    Object.entries(msg.headers ?? {}).filter(([name]) => !DEAD_LETTER_MARKS.includes(name) && !BROKER_PATH_HEADERS.includes(name)),
  );
  return {
    exchange: '',
    routingKey: Topology.paymentQueue,
    // An unroutable message (the queue vanished) comes back instead of being dropped.
    mandatory: true,
    durable: true,
    ...carriedProperties(msg),
    headers: {
      ...headers,
      [RedriveHeader.count]: Number(msg.headers?.[RedriveHeader.count] ?? 0) + 1,
      [RedriveHeader.redrivenAt]: redrivenAt.toISOString(),
    },
  };
}

/** The body's bytes: the ops connection hands them over as they are (AMQP_CLIENT_OPTIONS), so a redrive sends them unchanged. */
const bodyBytes = (body: unknown) => (Buffer.isBuffer(body) ? body : Buffer.from(String(body), 'utf8'));

/** A body as people read it: parsed when it is JSON of a readable size, its text otherwise. */
function readableBody(body: unknown): unknown {
  const text = Buffer.isBuffer(body) ? body.toString('utf8', 0, 65_536) : body;
  if (typeof text !== 'string') return text;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

async function publishConfirmed(channel: Channel, envelope: Envelope, body: Buffer, returned: Set<string>) {
  await channel.basicPublish(envelope, body);
  // A mandatory message the broker could not route is returned just before its ack.
  if (envelope.messageId && returned.has(envelope.messageId)) {
    throw new Error(`the broker could not route the message to ${Topology.paymentQueue}`);
  }
}

/**
 * `ops dlq redrive`: moves dead letters back to `order-service.payment-processed`, one at a time:
 * publish with a confirm, and only then ack the DLQ copy. An interruption can leave a message in
 * both queues, never in neither; the consumer deduplicates by event id. Moves at most the
 * messages present at the start, so a message that fails again is not looped forever. Reports
 * its progress as it goes: a redrive of many messages takes a while.
 */
export async function redriveDeadLetters(
  connection: Connection,
  limit: number | undefined,
  startProgress: StartProgress = NO_PROGRESS,
): Promise<CommandResult> {
  const depth = await queueDepth(connection, Topology.paymentDlq);
  if (typeof depth !== 'number') return depth;
  const target = await queueDepth(connection, Topology.paymentQueue);
  if (typeof target !== 'number') return target;

  const channel = await connection.acquire();
  const returned = new Set<string>();
  channel.on('basic.return', (msg) => returned.add(msg.messageId ?? ''));
  const moved: Array<{ message_id: string | null; order_id: string | null }> = [];
  let failure: string | undefined;
  const max = Math.min(limit ?? depth, depth);
  const progress = max > 0 ? startProgress('dlq redrive', max) : undefined;
  try {
    await channel.confirmSelect();
    while (moved.length < max) {
      const msg = await channel.basicGet({ queue: Topology.paymentDlq, noAck: false });
      if (!msg) break;
      try {
        await publishConfirmed(channel, redriveEnvelope(msg, new Date()), bodyBytes(msg.body), returned);
      } catch (error) {
        failure = `${msg.messageId ?? '(no message id)'}: ${(error as Error).message}`;
        // Left in the DLQ (returned when the channel closes); nothing was acked.
        break;
      }
      await channel.basicAck({ deliveryTag: msg.deliveryTag });
      const described = describeDeadLetter(msg);
      moved.push({ message_id: described.message_id, order_id: described.order_id });
      progress?.advance(moved.length);
    }
  } finally {
    progress?.end();
    await channel.close();
  }

  const lines = [
    moved.length === 0
      ? depth === 0
        ? `The dead-letter queue ${Topology.paymentDlq} is empty; nothing to redrive.`
        : 'No message was redriven.'
      : `Redriven ${moved.length} message(s) to ${Topology.paymentQueue}.`,
  ];
  if (moved.length > 0) lines.push(table(['MESSAGE ID', 'ORDER'], moved.map((m) => [m.message_id, m.order_id])));
  if (failure) lines.push(`Stopped: ${failure}. The message stays in the DLQ.`);
  return {
    exitCode: failure ? ExitCode.error : ExitCode.ok,
    data: { redriven: moved.length, messages: moved, ...(failure ? { error: failure } : {}) },
    text: lines.join('\n'),
  };
}
