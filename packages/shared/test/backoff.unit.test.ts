import { expect } from 'chai';
import { backoff } from '../src/backoff';

describe('backoff', () => {
  const policy = { baseMs: 100, maxMs: 1_000 };

  it('doubles the ceiling with every failed attempt, from the base', () => {
    const ceilings = [1, 2, 3, 4].map((attempts) => backoff(attempts, policy, () => 1));
    expect(ceilings).to.deep.equal([100, 200, 400, 800]);
  });

  it('never waits longer than the maximum', () => {
    expect(backoff(5, policy, () => 1)).to.equal(1_000);
    expect(backoff(1_000, policy, () => 1)).to.equal(1_000);
  });

  it('jitters between half the ceiling and the ceiling', () => {
    expect(backoff(3, policy, () => 0)).to.equal(200);
    expect(backoff(3, policy, () => 0.5)).to.equal(300);
    for (let i = 0; i < 100; i++) {
      const delay = backoff(3, policy);
      expect(delay).to.be.within(200, 400);
    }
  });

  // The consumer's requeue back-off (formerly ±25 % around the ceiling), now the same rule.
  it('backs off exponentially up to the cap, with bounded jitter', () => {
    const requeue = { baseMs: 100, maxMs: 5_000 };
    expect(backoff(1, requeue, () => 0.5)).to.equal(75);
    expect(backoff(3, requeue, () => 0.5)).to.equal(300);
    expect(backoff(20, requeue, () => 0.5)).to.equal(3_750);
    expect(backoff(2, requeue, () => 0)).to.equal(100);
    expect(backoff(2, requeue, () => 1)).to.equal(200);
  });
});
