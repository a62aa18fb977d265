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
