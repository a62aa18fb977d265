import { expect } from 'chai';
import { waitFor } from '@order-service/testkit';
import type { Logger } from '../src/logger';
import { startPeriodic } from '../src/periodic';

/** A logger that keeps the messages of its warnings. */
function warningsLogger() {
  const warnings: string[] = [];
  const logger = { warn: (_fields: unknown, message: string) => warnings.push(message) } as unknown as Logger;
  return { logger, warnings };
}

describe('startPeriodic', () => {
  it('runs the task on its interval, and tries again after a failure, with the failure logged', async () => {
    const { logger, warnings } = warningsLogger();
    let runs = 0;
    const periodic = startPeriodic(
      'pruning',
      10,
      async () => {
        runs += 1;
        if (runs === 1) throw new Error('database away');
      },
      logger,
    );
    await waitFor(() => runs >= 3, { timeoutMs: 2_000, what: 'three runs' });
    await periodic.stop();
    expect(warnings).to.deep.equal(['pruning failed; will retry']);
  });

  it('logs a failure with the message it was given', async () => {
    const { logger, warnings } = warningsLogger();
    const periodic = startPeriodic('sweep', 10, () => Promise.reject(new Error('no')), logger, { failureMessage: 'the sweep failed' });
    await waitFor(() => warnings.length > 0, { timeoutMs: 2_000, what: 'a failed run' });
    await periodic.stop();
    expect(warnings[0]).to.equal('the sweep failed');
  });

  it('runs now on request, with the result, never beside a run in progress', async () => {
    const { logger } = warningsLogger();
    let running = 0;
    let most = 0;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const periodic = startPeriodic(
      'sweep',
      60_000,
      async () => {
        running += 1;
        most = Math.max(most, running);
        await gate;
        running -= 1;
        return 42;
      },
      logger,
    );
    const first = periodic.runNow();
    const second = periodic.runNow();
    release();
    expect(await Promise.all([first, second])).to.deep.equal([42, 42]);
    expect(most, 'runs at once').to.equal(1);
    await periodic.stop();
  });

  it('passes the error of a run asked for to the caller', async () => {
    const { logger } = warningsLogger();
    const periodic = startPeriodic('sweep', 60_000, () => Promise.reject(new Error('locked')), logger);
    const outcome = await periodic.runNow().then(
      () => 'resolved',
      (error: unknown) => (error as Error).message,
    );
    expect(outcome).to.equal('locked');
    await periodic.stop();
  });

  it('stop waits for the run in progress and ends the schedule', async () => {
    const { logger } = warningsLogger();
    let runs = 0;
    let finished = false;
    const periodic = startPeriodic(
      'sweep',
      10,
      async () => {
        runs += 1;
        await new Promise((resolve) => setTimeout(resolve, 50));
        finished = true;
      },
      logger,
    );
    await waitFor(() => runs === 1, { timeoutMs: 2_000, what: 'a run to start' });
    await periodic.stop();
    expect(finished, 'the run in progress finished').to.equal(true);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(runs, 'no run after stop').to.equal(1);
  });
});
