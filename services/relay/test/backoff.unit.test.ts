import { expect } from 'chai';
import { retryDelayMs } from '../src/backoff';

describe('retryDelayMs', () => {
  const policy = { baseMs: 100, maxMs: 1_000 };

  it('doubles the ceiling with every failed attempt, from the base', () => {
    const ceilings = [1, 2, 3, 4].map((attempts) => retryDelayMs(attempts, policy, () => 1));
    expect(ceilings).to.deep.equal([100, 200, 400, 800]);
  });

  it('never waits longer than the maximum', () => {
    expect(retryDelayMs(5, policy, () => 1)).to.equal(1_000);
    expect(retryDelayMs(1_000, policy, () => 1)).to.equal(1_000);
  });

  it('jitters between half the ceiling and the ceiling', () => {
    expect(retryDelayMs(3, policy, () => 0)).to.equal(200);
    expect(retryDelayMs(3, policy, () => 0.5)).to.equal(300);
    for (let i = 0; i < 100; i++) {
      const delay = retryDelayMs(3, policy);
      expect(delay).to.be.within(200, 400);
    }
  });
});
