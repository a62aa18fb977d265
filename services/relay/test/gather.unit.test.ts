import { expect } from 'chai';
import { GATHER_MAX_MS, GATHER_MIN_MS, gatherMs } from '../src/gather';

describe('gatherMs', () => {
  it('waits the least after a claim at a low rate or after a quiet spell', () => {
    expect(gatherMs(1, Number.POSITIVE_INFINITY)).to.equal(GATHER_MIN_MS);
    expect(gatherMs(1, 500)).to.equal(GATHER_MIN_MS);
    expect(gatherMs(1, 20)).to.equal(GATHER_MIN_MS);
    expect(gatherMs(0, 10)).to.equal(GATHER_MIN_MS);
  });

  it('waits longer as the rate grows: 3 rows in 20 ms (150/s) gives 15 ms', () => {
    expect(gatherMs(3, 20)).to.equal(15);
    expect(gatherMs(7, 40)).to.equal(18);
  });

  it('waits at most 20 ms, from 200 events/s on', () => {
    expect(GATHER_MAX_MS).to.equal(20);
    expect(gatherMs(2, 10)).to.equal(GATHER_MAX_MS);
    expect(gatherMs(8, 10)).to.equal(GATHER_MAX_MS);
    for (let perSecond = 50; perSecond <= 20_000; perSecond += 50) expect(gatherMs(perSecond / 100, 10)).to.be.at.most(GATHER_MAX_MS);
  });

  it('at a high rate waits only as long as 64 rows take to arrive', () => {
    // 4,000 events/s: 64 rows take 16 ms; 10,000 events/s: 6.4 ms, so the least wait.
    expect(gatherMs(40, 10)).to.equal(16);
    expect(gatherMs(100, 10)).to.equal(GATHER_MIN_MS);
  });
});
