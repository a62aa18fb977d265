import { expect } from 'chai';
import { backoffMs, createFirstSeen, deliveryAttempt, pause, unknownOrderDelayMs } from '../src/retry';

describe('retry policy', () => {
  it('counts deliveries from the quorum queue header, and ignores that header on a first delivery', () => {
    expect(deliveryAttempt({ redelivered: false })).to.equal(1);
    expect(deliveryAttempt({ redelivered: false, headers: { 'x-delivery-count': 7 } })).to.equal(1);
    expect(deliveryAttempt({ redelivered: true, headers: { 'x-delivery-count': 2 } })).to.equal(3);
    expect(deliveryAttempt({ redelivered: true })).to.equal(2);
  });

  it('backs off exponentially up to the cap, with bounded jitter', () => {
    expect(backoffMs(1, 100, 5_000, () => 0.5)).to.equal(100);
    expect(backoffMs(3, 100, 5_000, () => 0.5)).to.equal(400);
    expect(backoffMs(20, 100, 5_000, () => 0.5)).to.equal(5_000);
    expect(backoffMs(2, 100, 5_000, () => 0)).to.equal(150);
    expect(backoffMs(2, 100, 5_000, () => 1)).to.equal(250);
  });

  it('retries an unknown order about ten times within its grace period', () => {
    expect(unknownOrderDelayMs(10_000)).to.equal(1_000);
    expect(unknownOrderDelayMs(2_000)).to.equal(200);
    expect(unknownOrderDelayMs(0)).to.equal(50);
  });

  it('ages an event from the older of its own time and its first sight', () => {
    const firstSeen = createFirstSeen();
    const now = Date.parse('2026-01-01T00:00:10Z');
    // An old event is old at once; one stamped in the future ages from when it was first seen.
    expect(firstSeen.age({ id: 'a', time: '2026-01-01T00:00:00Z' }, now)).to.equal(10_000);
    expect(firstSeen.age({ id: 'b', time: '2026-01-01T01:00:00Z' }, now)).to.equal(0);
    expect(firstSeen.age({ id: 'b', time: '2026-01-01T01:00:00Z' }, now + 500)).to.equal(500);
    firstSeen.forget('b');
    expect(firstSeen.age({ id: 'b', time: '2026-01-01T01:00:00Z' }, now + 900)).to.equal(0);
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
