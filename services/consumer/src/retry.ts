/** Which delivery of a message this is, 1 for the first. */
export function deliveryAttempt(msg: { redelivered: boolean; headers?: Record<string, unknown> }): number {
  // Quorum queues count earlier deliveries in x-delivery-count. On a first delivery the header
  // can only have come from the publisher (a republished DLQ message, say), so it is not trusted.
  if (!msg.redelivered) return 1;
  const count = Number(msg.headers?.['x-delivery-count'] ?? 0);
  return Number.isFinite(count) && count > 0 ? count + 1 : 2;
}

/**
 * Back-off before requeueing a message whose handling failed: doubles per attempt up to
 * `maxMs`, with jitter so deadlocked or throttled handlers do not retry in lockstep.
 */
export function backoffMs(attempt: number, baseMs: number, maxMs: number, random = Math.random): number {
  const exponential = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exponential * (0.75 + 0.5 * random()));
}

/** How long an event for an unknown order waits before each requeue: about ten tries in the grace period. */
export function unknownOrderDelayMs(graceMs: number): number {
  return Math.min(1_000, Math.max(50, Math.round(graceMs / 10)));
}

/**
 * How long ago an event was first seen, for the unknown-order grace period: the older of the
 * event's own time and this process's first sight of it. A publisher whose clock runs ahead
 * cannot stretch the grace period, and a redelivery to another replica does not restart it.
 */
export function createFirstSeen(maxEntries = 10_000) {
  const seen = new Map<string, number>();
  return {
    age(event: { id: string; time: string }, now = Date.now()): number {
      let first = seen.get(event.id);
      if (first === undefined) {
        if (seen.size >= maxEntries) seen.delete(seen.keys().next().value!);
        seen.set(event.id, (first = now));
      }
      const eventTime = Date.parse(event.time);
      return now - Math.min(first, Number.isNaN(eventTime) ? first : eventTime);
    },
    forget(eventId: string) {
      seen.delete(eventId);
    },
  };
}

/** Resolves after `ms`, or at once when `signal` aborts (shutdown must not wait out a back-off). */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted || ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done);
  });
}
