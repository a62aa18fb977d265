import { createHash } from 'node:crypto';
import { PAYMENT_PROCESSED, cloudEventOf, type OrderCreated, type PaymentProcessed } from '@order-service/shared';

export const SIMULATOR_SOURCE = '/payment-simulator';

const DECLINE_REASONS = ['card declined', 'insufficient funds', 'card expired', 'suspected fraud'];

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** A name-based (version 5 layout) UUID: the same name always gives the same id. */
export function stableUuid(name: string): string {
  const bytes = digest(name).subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * The payment result for an order, as a PaymentProcessed CloudEvent. Deterministic: an order
 * succeeds when a hash of its id falls below `successRatio`, and the event id and payment id
 * derive from the OrderCreated event. So a redelivered OrderCreated yields the very same event,
 * which the consumer recognises as a duplicate, as it would a real provider's retry.
 */
export function simulatePayment(order: OrderCreated, successRatio: number, now = new Date()): PaymentProcessed {
  const roll = digest(`roll:${order.data.order_id}`).readUInt32BE(0) / 0x1_0000_0000;
  const succeeded = roll < successRatio;
  const reason = DECLINE_REASONS[digest(`reason:${order.data.order_id}`)[0]! % DECLINE_REASONS.length]!;
  return cloudEventOf({
    type: PAYMENT_PROCESSED,
    source: SIMULATOR_SOURCE,
    id: stableUuid(`payment-processed:${order.id}`),
    time: now.toISOString(),
    data: {
      order_id: order.data.order_id,
      payment_id: `pay_${stableUuid(`payment:${order.id}`).replaceAll('-', '').slice(0, 24)}`,
      status: succeeded ? 'SUCCEEDED' : 'FAILED',
      amount: order.data.total_amount,
      ...(succeeded ? {} : { reason }),
    },
  });
}
