import { expect } from 'chai';
import { withDeadline } from '../src/deadline';

describe('withDeadline', () => {
  it('passes on a value that arrives in time', async () => {
    expect(await withDeadline(Promise.resolve('PONG'), 1_000, 'redis')).to.equal('PONG');
  });

  it('passes on a rejection that arrives in time', async () => {
    const error = new Error('NOSCRIPT');
    expect(await withDeadline(Promise.reject(error), 1_000, 'redis').catch((e: unknown) => e)).to.equal(error);
  });

  it('rejects once the deadline passes when the answer never comes (a stalled Redis)', async () => {
    const never = new Promise<string>(() => {});
    const outcome = await withDeadline(never, 20, 'redis').then(
      () => 'answered',
      (error: unknown) => (error as Error).message,
    );
    expect(outcome).to.equal('redis did not answer within 20 ms');
  });
});
