import { expect } from 'chai';
import { waitFor } from '@order-service/testkit';
import { createOutboxHinter } from '../src/db/outbox-hint';

describe('outbox hints (coalesced, after commit)', () => {
  function hinter(minGapMs: number, burst = 1) {
    const sentAt: number[] = [];
    const errors: unknown[] = [];
    const hints = createOutboxHinter(
      async () => {
        sentAt.push(performance.now());
      },
      { minGapMs, burst, onError: (error) => errors.push(error) },
    );
    return { hints, sentAt, errors };
  }

  it('sends the first hint after a quiet spell at once', () => {
    const { hints, sentAt } = hinter(50);
    hints.hint();
    expect(sentAt).to.have.length(1);
    hints.close();
  });

  it('turns a burst within the gap into one more hint, sent once the gap has passed', async () => {
    const { hints, sentAt } = hinter(50);
    for (let i = 0; i < 100; i++) hints.hint();
    expect(sentAt).to.have.length(1);
    await waitFor(() => sentAt.length === 2, { timeoutMs: 2_000, what: 'the coalesced hint' });
    expect(sentAt[1]! - sentAt[0]!).to.be.at.least(49);
    // Nothing was left pending: no third hint for the burst.
    hints.hint();
    await waitFor(() => sentAt.length === 3, { timeoutMs: 2_000, what: 'the next hint' });
    expect(sentAt[2]! - sentAt[1]!).to.be.at.least(49);
    hints.close();
  });

  it('sends up to `burst` hints at once, then one per gap: commits a little closer than the gap are not held back', async () => {
    const { hints, sentAt } = hinter(50, 3);
    for (let i = 0; i < 3; i++) hints.hint();
    expect(sentAt).to.have.length(3);
    for (let i = 0; i < 100; i++) hints.hint();
    expect(sentAt).to.have.length(3);
    await waitFor(() => sentAt.length === 4, { timeoutMs: 2_000, what: 'the coalesced hint' });
    expect(sentAt[3]! - sentAt[2]!).to.be.at.least(49);
    hints.close();
  });

  it('drops a failed hint (the relay polls anyway) and reports it', async () => {
    const errors: unknown[] = [];
    const hints = createOutboxHinter(() => Promise.reject(new Error('connection refused')), { onError: (error) => errors.push(error) });
    hints.hint();
    await waitFor(() => errors.length === 1, { what: 'the error report' });
    expect((errors[0] as Error).message).to.equal('connection refused');
    hints.close();
  });
});
