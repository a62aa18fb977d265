import { expect } from 'chai';
import { systemClock } from '@order-service/shared';
import { createWakeup } from '../src/wakeup';

const timed = async (promise: Promise<void>) => {
  const start = performance.now();
  await promise;
  return performance.now() - start;
};

describe('createWakeup', () => {
  it('returns at once from a sleep when a hint came since the last clear, even before the sleep began', async () => {
    const wakeup = createWakeup(systemClock);
    wakeup.clear();
    wakeup.wake();
    wakeup.wake();
    expect(await timed(wakeup.sleep(10_000))).to.be.below(1_000);
    wakeup.close();
  });

  it('ends a sleep when a hint arrives during it', async () => {
    const wakeup = createWakeup(systemClock);
    wakeup.clear();
    const sleeping = wakeup.sleep(10_000);
    setTimeout(() => wakeup.wake(), 10);
    expect(await timed(sleeping)).to.be.below(1_000);
    wakeup.close();
  });

  it('keeps the earliest timed wake-up', async () => {
    const wakeup = createWakeup(systemClock);
    wakeup.clear();
    wakeup.wakeAfter(20);
    wakeup.wakeAfter(60_000);
    expect(await timed(wakeup.sleep(10_000))).to.be.below(1_000);
    wakeup.close();
  });

  it('sleeps the whole interval without a hint', async () => {
    const wakeup = createWakeup(systemClock);
    wakeup.clear();
    expect(await timed(wakeup.sleep(30))).to.be.at.least(25);
    wakeup.close();
  });
});
