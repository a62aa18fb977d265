import { expect } from 'chai';
import { createThrottle } from '../src/throttle';

describe('createThrottle', () => {
  it('lets a key through once per interval, the first call at once, and keys apart', () => {
    let now = 0;
    const passes = createThrottle(10_000, { now: () => now });
    expect(passes('a'), 'first').to.equal(true);
    now = 9_999;
    expect(passes('a'), 'within the interval').to.equal(false);
    expect(passes('b'), 'another key').to.equal(true);
    now = 10_000;
    expect(passes('a'), 'once the interval has passed').to.equal(true);
    expect(passes('a'), 'right after').to.equal(false);
  });
});
