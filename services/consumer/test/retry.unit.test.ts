import { expect } from 'chai';
import { deliveryAttempt, firstSeenAt, pause } from '../src/retry';

describe('retry policy', () => {
  it('counts deliveries from the quorum queue header, and ignores that header on a first delivery', () => {
    expect(deliveryAttempt({ redelivered: false })).to.equal(1);
    expect(deliveryAttempt({ redelivered: false, headers: { 'x-delivery-count': 7 } })).to.equal(1);
    expect(deliveryAttempt({ redelivered: true, headers: { 'x-delivery-count': 2 } })).to.equal(3);
    expect(deliveryAttempt({ redelivered: true })).to.equal(2);
  });

  it('dates an event for an unknown order from the earliest of its own time, the carried first sight and now', () => {
    const now = Date.parse('2026-01-01T00:00:10Z');
    const old = '2026-01-01T00:00:00Z';
    const future = '2026-01-01T01:00:00Z';
    expect(firstSeenAt({ time: old }, undefined, now), 'an old event is old at once').to.equal(now - 10_000);
    expect(firstSeenAt({ time: future }, undefined, now), 'one stamped in the future ages from now').to.equal(now);
    expect(firstSeenAt({ time: future }, now - 3_000, now), 'the retry queue carries the first sight').to.equal(now - 3_000);
    expect(firstSeenAt({ time: future }, BigInt(now - 4_000), now), 'as an int64 too').to.equal(now - 4_000);
    expect(firstSeenAt({ time: future }, now + 60_000, now), 'a first sight in the future cannot stretch the grace').to.equal(now);
    expect(firstSeenAt({ time: 'garbage' }, 'garbage', now)).to.equal(now);
  });

  it('a pause ends at once when shutdown begins', async () => {
    const controller = new AbortController();
    const started = Date.now();
    const pausing = pause(60_000, controller.signal);
    controller.abort();
    await pausing;
    expect(Date.now() - started).to.be.below(1_000);
  });
});
