/** Why a message was dead-lettered, as a stable code for tooling (the reason header is prose). */
export const DEAD_LETTER_CODES = [
  'invalid-message',
  'too-large',
  'headers-too-large',
  'unknown-order',
  'amount-mismatch',
  'max-attempts',
] as const;
export type DeadLetterCode = (typeof DEAD_LETTER_CODES)[number];

/**
 * The headers the consumer adds to a message it moves to the DLQ, which `ops dlq` reads. (A
 * message the broker dead-letters by itself, at the delivery limit, has the broker's `x-death`
 * headers instead.)
 */
export const DeadLetterHeader = {
  /** Why, in prose (at most 1000 characters). */
  reason: 'x-dead-letter-reason',
  /** Why, as one of DEAD_LETTER_CODES. */
  code: 'x-dead-letter-code',
  /** The delivery that gave up, 1 for the first. */
  attempts: 'x-dead-letter-attempts',
  /** When, as an ISO 8601 timestamp. */
  deadLetteredAt: 'x-dead-lettered-at',
  /** How many of the message's own headers were left out to fit a frame (only when some were). */
  droppedHeaders: 'x-dead-letter-dropped-headers',
  /** Where the message was first published, and the queue it was read from. */
  originalExchange: 'x-original-exchange',
  originalRoutingKey: 'x-original-routing-key',
  originalQueue: 'x-original-queue',
} as const;

/**
 * The consumer's marks a redrive removes, so that the message goes back as it first arrived.
 * `droppedHeaders` stays: the headers it counts are gone for good, and whoever reads the
 * redriven message should still know that.
 */
export const DEAD_LETTER_MARKS: readonly string[] = [
  DeadLetterHeader.reason,
  DeadLetterHeader.code,
  DeadLetterHeader.attempts,
  DeadLetterHeader.deadLetteredAt,
  DeadLetterHeader.originalExchange,
  DeadLetterHeader.originalRoutingKey,
  DeadLetterHeader.originalQueue,
];

/** The headers `ops dlq redrive` adds to a message it moves back to the payment queue. */
export const RedriveHeader = {
  /** How many times the message was redriven, 1 for the first. */
  count: 'x-redrive-count',
  redrivenAt: 'x-redriven-at',
} as const;

/**
 * What RabbitMQ records on a message about its path through one queue (its delivery count and
 * dead-lettering history). They describe the queue the message left, so a copy moved to another
 * queue (a retry, the DLQ, a redrive) must not carry them.
 */
export const BROKER_PATH_HEADERS: readonly string[] = [
  'x-delivery-count',
  'x-death',
  'x-first-death-exchange',
  'x-first-death-queue',
  'x-first-death-reason',
  'x-last-death-exchange',
  'x-last-death-queue',
  'x-last-death-reason',
];
