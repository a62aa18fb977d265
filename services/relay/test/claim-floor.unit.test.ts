import { expect } from 'chai';
import { createClaimFloor } from '../src/claim-floor';

describe('relay: where a claim starts', () => {
  /** Without a commit lag unless one is given: a claim's floor counts at once. */
  function floorAt(fromStartEveryMs: number, commitLagMs = 0) {
    let now = 1_000;
    const floor = createClaimFloor(fromStartEveryMs, { now: () => now }, commitLagMs);
    return { floor, advance: (ms: number) => (now += ms) };
  }

  it('claims from the start first, then above the lowest row the last claim saw', () => {
    const { floor, advance } = floorAt(1_000);
    expect(floor.next()).to.equal('0');
    floor.claimed('101');
    advance(10);
    expect(floor.next()).to.equal('100');
    floor.claimed('250');
    advance(10);
    expect(floor.next()).to.equal('249');
  });

  it('claims from the start again once per interval, so a row that committed late is found', () => {
    const { floor, advance } = floorAt(1_000);
    floor.next();
    floor.claimed('500');
    advance(999);
    expect(floor.next()).to.equal('499');
    advance(1);
    expect(floor.next()).to.equal('0');
    expect(floor.next()).to.equal('499');
  });

  it('claims from the start at once after a failed batch, and when a retry comes due', () => {
    const { floor, advance } = floorAt(60_000);
    floor.next();
    floor.claimed('500');
    floor.rescanIn(0);
    expect(floor.next()).to.equal('0');
    expect(floor.next()).to.equal('499');
    floor.rescanIn(300);
    floor.rescanIn(200);
    advance(199);
    expect(floor.next()).to.equal('499');
    advance(1);
    expect(floor.next()).to.equal('0');
    expect(floor.next()).to.equal('499');
    advance(100);
    expect(floor.next(), 'the second rescan').to.equal('0');
    expect(floor.next()).to.equal('499');
  });

  it('claims from the start after a claim that locked nothing', () => {
    const { floor, advance } = floorAt(60_000);
    floor.next();
    floor.claimed('500');
    advance(10);
    expect(floor.next()).to.equal('499');
    floor.claimed(undefined);
    advance(10);
    expect(floor.next()).to.equal('0');
  });

  it('starts above what a claim saw only once that claim is the commit lag old, so a row that commits after a later one is still claimed', () => {
    const { floor, advance } = floorAt(60_000, 100);
    expect(floor.next()).to.equal('0');
    floor.claimed('101');
    advance(40);
    expect(floor.next(), 'row 100 may still be committing').to.equal('0');
    floor.claimed('140');
    advance(60);
    expect(floor.next(), 'the first claim is 100 ms old').to.equal('100');
    floor.claimed('180');
    advance(39);
    expect(floor.next()).to.equal('100');
    advance(1);
    expect(floor.next(), 'the second claim is 100 ms old').to.equal('139');
    floor.claimed(undefined);
    expect(floor.next(), 'an empty claim forgets every floor').to.equal('0');
    advance(1_000);
    expect(floor.next()).to.equal('0');
  });

  it('keeps ids exact past 2^53', () => {
    const { floor } = floorAt(1_000);
    floor.next();
    floor.claimed('9007199254740993');
    expect(floor.next()).to.equal('9007199254740992');
  });
});
