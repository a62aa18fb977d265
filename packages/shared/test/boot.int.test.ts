import { expect } from 'chai';
import { runService, startService, waitFor } from '@order-service/testkit';

const ENTRY = 'packages/shared/test/fixtures/boot-process.ts';

const logLines = (stdout: string) =>
  stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);

describe('boot: how every process starts and stops', function () {
  this.timeout(30_000);

  it('refuses to start with bad settings, exiting 1 with a message naming every bad variable and no log line', async () => {
    const run = await runService(ENTRY, { LOG_LEVEL: 'loud', BOOT_TEST_PORT: '99' });
    expect(run.code).to.equal(1);
    expect(run.stderr).to.include('LOG_LEVEL').and.to.include('BOOT_TEST_PORT');
    expect(run.stdout).to.equal('');
  });

  it('exits 1 with a fatal log line when the start throws', async () => {
    const run = await runService(ENTRY, { BOOT_TEST_FAIL: 'the broker is gone' });
    expect(run.code).to.equal(1);
    const fatal = logLines(run.stdout).find((line) => line.msg === 'failed to start');
    expect(fatal, run.stdout).to.include({ level: 60, name: 'boot-test' });
    expect((fatal!.err as { message: string }).message).to.equal('the broker is gone');
  });

  it('on SIGTERM, even one that arrives while the start is still running, runs the stop its start returned, then exits 0', async () => {
    const service = await startService(ENTRY, {});
    expect(await service.stop('SIGTERM')).to.equal(0);
    // The exit can be reported before the last lines of stdout are read.
    await waitFor(() => service.logs.some((line) => line.msg === 'stopped'), { timeoutMs: 2_000, what: 'the last log line' });
    const steps = ['listening', 'shutting down', 'intake stopped', 'stopped'];
    expect(service.logs.map((line) => line.msg).filter((msg) => steps.includes(msg as string))).to.deep.equal(steps);
  });
});
