import { expect } from 'chai';
import { GATHER_MAX_MS, GATHER_MIN_MS, gatherMs } from '../src/gather';

describe('gatherMs', () => {
  it('waits the least after a first claim following a quiet spell, so an idle relay is not delayed', () => {
    expect(gatherMs(1, Number.POSITIVE_INFINITY)).to.equal(GATHER_MIN_MS);
    expect(gatherMs(1, 500)).to.equal(GATHER_MIN_MS);
    expect(gatherMs(0, 10)).to.equal(GATHER_MIN_MS);
  });

  it('waits longer as the rate grows: 3 rows in 10 ms (300/s) gives 30 ms', () => {
    expect(gatherMs(3, 10)).to.equal(30);
    expect(gatherMs(2, 10)).to.equal(20);
  });

  it('never waits longer than the bound, whatever the rate', () => {
    expect(gatherMs(8, 20)).to.equal(GATHER_MAX_MS);
    for (const [rows, ms] of [[50, 40], [400, 40], [1, 1]] as const) expect(gatherMs(rows, ms)).to.be.at.most(GATHER_MAX_MS);
  });

  it('at a high rate waits only as long as it takes the target rows to gather', () => {
    // 1,000 events/s: 16 rows take 16 ms.
    expect(gatherMs(10, 10)).to.equal(16);
  });
});
