/** Which delivery of a message this is, 1 for the first. */
export function deliveryAttempt(msg: { redelivered: boolean; headers?: Record<string, unknown> }): number {
  // Quorum queues count earlier deliveries in x-delivery-count. On a first delivery the header
  // can only have come from the publisher (a republished DLQ message, say), so it is not trusted.
  if (!msg.redelivered) return 1;
  const count = Number(msg.headers?.['x-delivery-count'] ?? 0);
  return Number.isFinite(count) && count > 0 ? count + 1 : 2;
}

/**
 * When an event for an unknown order was first seen (ms since the epoch), for its grace period:
 * the earliest of the event's own time, the time the retry queue carried along, and now. Neither
 * a publisher whose clock runs ahead nor a header from the future can stretch the grace period,
 * and a retry handed to another replica does not restart it.
 */
export function firstSeenAt(event: { time: string }, carried: unknown, now: number): number {
  const candidates = [now, Date.parse(event.time), typeof carried === 'number' || typeof carried === 'bigint' ? Number(carried) : Number.NaN];
  return Math.min(...candidates.filter((time) => Number.isFinite(time)));
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
