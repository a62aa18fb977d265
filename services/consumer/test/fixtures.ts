import { randomUUID } from 'node:crypto';
import { PAYMENT_PROCESSED, cloudEventOf, type PaymentProcessed } from '@order-service/shared';

/** A PaymentProcessed event for `orderId`, as the payment side would publish it. */
export function paymentEvent(orderId: string, status: 'SUCCEEDED' | 'FAILED', data: Partial<PaymentProcessed['data']> = {}): PaymentProcessed {
  return cloudEventOf({
    type: PAYMENT_PROCESSED,
    source: '/payments-test',
    data: {
      order_id: orderId,
      payment_id: `pay_${randomUUID().slice(0, 8)}`,
      status,
      amount: 12.5,
      ...(status === 'FAILED' ? { reason: 'card declined' } : {}),
      ...data,
    },
  });
}
