import { expect } from 'chai';
import { drained, formatLedger, ledger, mark, type Ledger } from './ledger';
import { startSystem, type FaultSystem } from './system';

let shared: Promise<FaultSystem> | undefined;
/** A broken pipeline fails every scenario after its drain deadline; after two, the rest fail at once. */
let drainFailuresInARow = 0;

/**
 * The one system every fault file shares, started on first use: starting four services per
 * file would cost more than the scenarios. Each scenario ends drained, so the next one starts
 * from a clean pipeline.
 */
export function sharedSystem(): Promise<FaultSystem> {
  shared ??= startSystem('faults');
  return shared;
}

// Interrupted (Ctrl-C, a CI timeout): still stop the services and drop the database and vhost.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void (shared ?? Promise.reject(new Error('none')))
      .then((system) => system.dispose())
      .catch(() => {})
      .finally(() => process.exit(130));
  });
}

// A root-level hook (this module is loaded by mocha with the first fault file): after the last
// file, the shared system and everything it made go, whatever failed.
after(async function () {
  this.timeout(120_000);
  const system = await shared?.catch(() => undefined);
  await system?.dispose();
});

/** Prints one line of the suite's output (the numbers are the point of the suite). */
export function report(line: string): void {
  process.stdout.write(`      ${line}\n`);
}

/**
 * Runs one scenario: `inject` makes the fault and heals it (in its own `finally`), then the
 * system must drain, and the four numbers for the orders of this scenario are printed and
 * checked. Returns them for scenario-specific checks (e.g. that duplicates did happen).
 */
export async function scenario(
  system: FaultSystem,
  name: string,
  inject: () => Promise<void>,
  { expectedDlq = 0 }: { expectedDlq?: number } = {},
): Promise<Ledger> {
  if (drainFailuresInARow >= 2) {
    throw new Error(`not run: the last ${drainFailuresInARow} scenarios did not drain, so the system is broken (see the first failure)`);
  }
  const since = await mark(system);
  // A failed check inside the scenario still gets its numbers printed (after the system drained).
  const failure = await inject().then(
    () => undefined,
    (error: unknown) => error,
  );
  await system.ensureRunning();
  const drainFailure = await drained(system, { expectedDlq, since }).then(
    () => undefined,
    (error: unknown) => error,
  );
  drainFailuresInARow = drainFailure ? drainFailuresInARow + 1 : 0;
  const numbers = await ledger(system, since);
  report(`${formatLedger(name, numbers)} dlq=${expectedDlq}${failure || drainFailure ? ' (FAILED)' : ''}`);
  if (failure) throw failure;
  if (drainFailure) throw drainFailure;
  expect(numbers.lost, 'lost').to.equal(0);
  expect(numbers.unexpected, 'unexpected').to.equal(0);
  expect(numbers.doubleApplied, 'double-applied').to.equal(0);
  return numbers;
}

/** Whether the audit queue saw an event of each of these orders: the ids it did not see. */
export function unaudited(system: FaultSystem, orderIds: Iterable<string>): string[] {
  const seen = new Set<string>();
  for (const event of system.audit.events.values()) if (event.orderId) seen.add(event.orderId);
  return [...orderIds].filter((id) => !seen.has(id));
}
