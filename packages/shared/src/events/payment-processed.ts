import * as v from 'valibot';
import { Money, Uuid, cloudEvent } from './cloudevent';

export const PAYMENT_PROCESSED = 'PaymentProcessed';

export const PaymentProcessedData = v.object({
  order_id: Uuid,
  payment_id: v.pipe(v.string(), v.minLength(1), v.maxLength(255)),
  status: v.picklist(['SUCCEEDED', 'FAILED']),
  amount: Money,
  reason: v.optional(v.pipe(v.string(), v.maxLength(1_000))),
});

/** Published by the payment side on `payments` / `payment.processed`; applied by the consumer. */
export const PaymentProcessed = cloudEvent(PAYMENT_PROCESSED, PaymentProcessedData);
export type PaymentProcessed = v.InferOutput<typeof PaymentProcessed>;
