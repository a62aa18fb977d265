import { expect } from 'chai';
import { GATHER_MIN_MS, gatherMs } from '../src/gather';

describe('gatherMs', () => {
  it('waits the least after a claim at a low rate or after a quiet spell', () => {
    expect(gatherMs(1, Number.POSITIVE_INFINITY)).to.equal(GATHER_MIN_MS);
    expect(gatherMs(1, 500)).to.equal(GATHER_MIN_MS);
    expect(gatherMs(1, 20)).to.equal(GATHER_MIN_MS);
    expect(gatherMs(0, 10)).to.equal(GATHER_MIN_MS);
  });

  it('waits longer as the rate grows: 3 rows in 10 ms (300/s) gives 30 ms', () => {
    expect(gatherMs(2, 10)).to.equal(20);
    expect(gatherMs(3, 10)).to.equal(30);
  });

  it('peaks at 40 ms, at 400 events/s', () => {
    expect(gatherMs(4, 10)).to.equal(40);
    for (let perSecond = 50; perSecond <= 20_000; perSecond += 50) expect(gatherMs(perSecond / 100, 10)).to.be.at.most(40);
  });

  it('at a high rate waits only as long as 16 rows take to arrive', () => {
    // 1,000 events/s: 16 rows take 16 ms.
    expect(gatherMs(10, 10)).to.equal(16);
  });
});
