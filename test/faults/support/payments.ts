import { randomUUID } from 'node:crypto';
import { Connection, type AsyncMessage, type Envelope } from 'rabbitmq-client';
import { AMQP_CLIENT_OPTIONS, PAYMENT_PROCESSED, Topology, cloudEventOf, type PaymentProcessed } from '@order-service/shared';
import { waitFor } from '@order-service/testkit';
import type { FaultSystem } from './system';

/** One series of the running consumer's /metrics (0 when it is absent). */
export async function consumerMetric(system: FaultSystem, series: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${system.processes.consumer!.port}/metrics`)).text();
  return Number(text.split('\n').find((line) => line.startsWith(`${series} `))?.split(' ')[1] ?? 0);
}

/** A PaymentProcessed event for an order, as the payment side would publish it. */
export function paymentFor(order: { order_id: string; total_amount: string }, status: 'SUCCEEDED' | 'FAILED' = 'SUCCEEDED'): PaymentProcessed {
  return cloudEventOf({
    type: PAYMENT_PROCESSED,
    source: '/hostile-test',
    data: {
      order_id: order.order_id,
      payment_id: `pay_${randomUUID().slice(0, 8)}`,
      status,
      amount: Number(order.total_amount),
      ...(status === 'FAILED' ? { reason: 'card declined' } : {}),
    },
  });
}

/**
 * The payment side as an attacker or a buggy upstream runs it: publishes any bytes with any
 * headers to `payments`, and reads the DLQ back byte for byte (its connection never decodes bodies).
 */
export async function startPaymentSide(system: FaultSystem) {
  const connection = new Connection({ ...AMQP_CLIENT_OPTIONS, url: system.vhost.url, connectionName: 'hostile-payment-side' });
  connection.on('error', () => {});
  const publisher = connection.createPublisher({ confirm: true });
  const dead = new Map<string, AsyncMessage>();

  return {
    /** Publishes `body` with the contract's properties; returns the message id it used. */
    async publish(body: Buffer | string | object, envelope: Partial<Envelope> = {}): Promise<string> {
      const messageId = envelope.messageId ?? randomUUID();
      const bytes = Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
      await publisher.send(
        {
          exchange: Topology.paymentsExchange,
          routingKey: Topology.paymentProcessedKey,
          durable: true,
          contentType: 'application/json',
          ...envelope,
          messageId,
        },
        bytes,
      );
      return messageId;
    },
    /** Waits for the DLQ copy of a message (by message id), taking it out of the DLQ. */
    deadLettered(messageId: string, timeoutMs = 20_000): Promise<AsyncMessage> {
      return waitFor(
        async () => {
          for (;;) {
            const msg = await connection.basicGet({ queue: Topology.paymentDlq, noAck: true });
            if (!msg) break;
            dead.set(msg.messageId ?? '', msg as unknown as AsyncMessage);
          }
          return dead.get(messageId);
        },
        { timeoutMs, intervalMs: 50, what: `message ${messageId} in the DLQ` },
      );
    },
    async close() {
      await publisher.close();
      await connection.close();
    },
  };
}
export type PaymentSide = Awaited<ReturnType<typeof startPaymentSide>>;
