import * as v from 'valibot';
import { Money, Uuid, cloudEvent } from './cloudevent';
import { storedText } from './text';

export const PAYMENT_PROCESSED = 'PaymentProcessed';

export const PaymentProcessedData = v.object({
  order_id: Uuid,
  // Both texts are stored in the status history as they came, so Postgres must be able to store them.
  payment_id: storedText(255),
  status: v.picklist(['SUCCEEDED', 'FAILED']),
  amount: Money,
  reason: v.optional(storedText(1_000, 0)),
});

/** Published by the payment side on `payments` / `payment.processed`; applied by the consumer. */
export const PaymentProcessed = cloudEvent(PAYMENT_PROCESSED, PaymentProcessedData);
export type PaymentProcessed = v.InferOutput<typeof PaymentProcessed>;
