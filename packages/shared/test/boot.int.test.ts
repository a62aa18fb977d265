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
    const messages = () => service.logs.map((line) => line.msg as string);
    await waitFor(() => messages().includes('stopped') && messages().includes('intake stopped'), { timeoutMs: 2_000, what: 'the last log lines' });
    const steps = ['listening', 'shutting down', 'intake stopped', 'stopped'];
    const seen = messages().filter((msg) => steps.includes(msg));
    expect(seen.slice(0, 2)).to.deep.equal(['listening', 'shutting down']);
    // The last two are written just before process.exit, whose flush of pino's asynchronous
    // stdout can put them out of order on a busy machine; that they were both written is the claim.
    expect(seen.slice(2)).to.have.members(['intake stopped', 'stopped']).and.to.have.length(2);
  });
});
