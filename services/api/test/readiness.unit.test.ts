import { expect } from 'chai';
import { shareReadiness, type Readiness } from '@order-service/shared';

describe('shareReadiness', () => {
  const ready: Readiness = { ready: true, checks: { postgres: 'up' } };

  it('runs one check for concurrent callers, and reuses its result until it is a second old', async () => {
    let clock = 0;
    let checks = 0;
    let finish: (() => void) | undefined;
    const readiness = shareReadiness(
      () => {
        checks += 1;
        return new Promise<Readiness>((resolve) => (finish = () => resolve(ready)));
      },
      1_000,
      () => clock,
    );
    const waiting = [readiness(), readiness(), readiness()];
    // Still in flight past the second: callers keep waiting on it rather than starting another.
    clock = 1_500;
    waiting.push(readiness());
    finish!();
    expect(await Promise.all(waiting)).to.deep.equal([ready, ready, ready, ready]);
    expect(checks).to.equal(1);

    clock = 1_999;
    const next = readiness();
    expect(checks, 'a second after the check began, a new one starts').to.equal(2);
    finish!();
    await next;
    clock = 2_998;
    await readiness();
    expect(checks, 'within the second of the last check').to.equal(2);
  });
});
