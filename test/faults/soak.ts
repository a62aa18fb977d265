/**
 * `pnpm soak [-- --minutes 5]`: steady order traffic through a whole system (api, relay,
 * consumer, payment simulator) while a random fault from the fault suite's list hits it about
 * every 20 s. After each fault the system is healed and drained, and the four numbers are
 * checked. Ends with lost, unexpected and double-applied (all must be 0) and the duplicate rate.
 * Not part of CI.
 */
import { parseArgs } from 'node:util';
import { unblockBrokerPublishers } from '@order-service/testkit';
import { drained, formatLedger, ledger, type Ledger } from './support/ledger';
import { killAllSync } from './support/processes';
import { SOAK_FAULTS } from './support/soak-faults';
import { startSystem, type FaultSystem } from './support/system';
import { startTraffic } from './support/traffic';

const { values } = parseArgs({
  args: process.argv.slice(2).filter((arg) => arg !== '--'),
  options: { minutes: { type: 'string', default: '5' }, 'fault-every': { type: 'string', default: '20' } },
});
const minutes = Number(values.minutes);
const faultEverySeconds = Number(values['fault-every']);
if (!(minutes > 0) || !(faultEverySeconds > 0)) {
  process.stderr.write('usage: pnpm soak [-- --minutes 5] [--fault-every 20]\n');
  process.exit(2);
}

const startedAt = Date.now();
const say = (line: string) => {
  const elapsed = Math.round((Date.now() - startedAt) / 1000);
  process.stdout.write(`[${String(Math.floor(elapsed / 60)).padStart(2, '0')}:${String(elapsed % 60).padStart(2, '0')}] ${line}\n`);
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function soak(system: FaultSystem): Promise<Ledger> {
  const deadline = startedAt + minutes * 60_000;
  const faultCounts = new Map<string, number>();
  let refused = 0;
  const bag: typeof SOAK_FAULTS = [];
  for (let round = 1; Date.now() < deadline; round += 1) {
    const traffic = startTraffic(system, { concurrency: 2, pauseMs: 40, address: `soak round ${round}` });
    // A shuffled bag: random order, and every fault comes up before any comes up twice.
    if (bag.length === 0) bag.push(...[...SOAK_FAULTS].sort(() => Math.random() - 0.5));
    const fault = bag.pop()!;
    const windowEnds = Date.now() + faultEverySeconds * 1_000;
    try {
      // The fault lands at a random moment of the window, while orders flow.
      await sleep(2_000 + Math.random() * 6_000);
      await fault.run(system);
      faultCounts.set(fault.name, (faultCounts.get(fault.name) ?? 0) + 1);
      await sleep(Math.max(0, windowEnds - Date.now()));
    } finally {
      await traffic.stop();
    }
    refused += [...traffic.refused.values()].reduce((sum, count) => sum + count, 0);
    const drainStarted = Date.now();
    const drainFailure = await drained(system, { timeoutMs: 180_000 }).catch((error: unknown) => error as Error);
    const numbers = await ledger(system);
    if (drainFailure) {
      say(`round ${round}: ${fault.name}: ${drainFailure.message}; ${formatLedger('soak-so-far', numbers)}`);
      throw drainFailure;
    }
    const refusals = [...traffic.refused].map(([status, n]) => `${status}×${n}`).join(' ') || 'none refused';
    const drainSeconds = ((Date.now() - drainStarted) / 1000).toFixed(1);
    say(
      `round ${round}: ${fault.name}, ${traffic.accepted.length} orders accepted (${refusals}), drained in ${drainSeconds} s; ` +
        formatLedger('soak-so-far', numbers),
    );
    if (numbers.lost + numbers.unexpected + numbers.doubleApplied > 0) throw new Error('an invariant broke; stopping the soak');
  }
  say(`faults injected: ${[...faultCounts].map(([name, n]) => `${name}×${n}`).join(', ')}; requests refused during faults: ${refused}`);
  return ledger(system);
}

let system: FaultSystem | undefined;
let exitCode = 1;
process.once('SIGINT', () => {
  say('interrupted; cleaning up');
  void Promise.allSettled([unblockBrokerPublishers(), system?.dispose()]).finally(() => process.exit(130));
});
try {
  say(`soak for ${minutes} min, a fault every ~${faultEverySeconds} s`);
  system = await startSystem('soak');
  const numbers = await soak(system);
  const delivered = numbers.orders + numbers.duplicated;
  say(formatLedger('soak', numbers));
  say(`duplicate rate: ${delivered === 0 ? 0 : ((numbers.duplicated / delivered) * 100).toFixed(2)}% of ${delivered} deliveries`);
  exitCode = numbers.lost === 0 && numbers.unexpected === 0 && numbers.doubleApplied === 0 ? 0 : 1;
  say(exitCode === 0 ? 'PASS: lost = 0, unexpected = 0, double-applied = 0' : 'FAIL');
} catch (error) {
  say(`FAIL: ${(error as Error).stack ?? String(error)}`);
} finally {
  await system?.dispose().catch((error: unknown) => say(`cleanup failed: ${String(error)}`));
  killAllSync();
}
process.exit(exitCode);
