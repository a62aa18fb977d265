import { expect } from 'chai';
import { Topology } from '@order-service/shared';
import { waitFor, type RabbitNode } from '@order-service/testkit';
import { report, scenario, unaudited } from '../faults/support/scenario';
import type { FaultSystem } from '../faults/support/system';
import { placeOrders, startTraffic, type Traffic } from '../faults/support/traffic';
import { startClusterSystem, type ClusterSystem } from './support/cluster-system';
import { recoveryAfter, watchRelay, type Recovery } from './support/recovery';

/** The bound: publishing and applying resume within this many seconds of the loss. */
const RESUME_WITHIN_S = 15;

/** Steady traffic that has already gone the whole way (api → relay → simulator → consumer). */
async function flowingTraffic(system: FaultSystem): Promise<Traffic> {
  const traffic = startTraffic(system, { concurrency: 3 });
  const startedAt = Date.now();
  await recoveryAfter(system, startedAt, 60_000);
  return traffic;
}

describe('cluster: RabbitMQ nodes die under load', function () {
  let world: ClusterSystem;
  let system: FaultSystem;

  before(async function () {
    this.timeout(180_000);
    world = await startClusterSystem();
    system = world.system;
  });

  after(async function () {
    this.timeout(120_000);
    await world?.dispose();
  });

  afterEach(async function () {
    this.timeout(120_000);
    // Whatever a scenario left broken, the next one starts on a whole cluster.
    await world.healed();
  });

  /**
   * Runs one scenario under steady traffic: `loseAndHeal` makes the loss, returns when it happened
   * (ms since the epoch) and heals it. Prints the ledger, the recovery times and what the relay's
   * metrics showed, and checks the bound on recovery.
   */
  async function underLoad(name: string, loseAndHeal: (traffic: Traffic) => Promise<number[]>): Promise<Recovery> {
    let recovery: Recovery = { publishS: NaN, applyS: NaN };
    const relay = watchRelay(system);
    let traffic: Traffic | undefined;
    try {
      const numbers = await scenario(system, name, async () => {
        traffic = await flowingTraffic(system);
        const losses = await loseAndHeal(traffic);
        // Each loss counts on its own (a rolling restart has three): the slowest is the recovery.
        const each: Recovery[] = [];
        for (const lossAt of losses) each.push(await recoveryAfter(system, lossAt));
        recovery = { publishS: Math.max(...each.map((r) => r.publishS)), applyS: Math.max(...each.map((r) => r.applyS)) };
        await traffic.stop();
        traffic = undefined;
      });
      const view = await relay.stop();
      report(
        `scenario=${name} publish_resumed_s=${recovery.publishS.toFixed(2)} apply_resumed_s=${recovery.applyS.toFixed(2)} ` +
          `duplicated=${numbers.duplicated} relay_backlog_peak=${view.backlogPeak} relay_confirms_over_1s=${view.slowConfirms} ` +
          `relay_slowest_confirm_bucket_s=${view.slowestBucketS}`,
      );
    } finally {
      await traffic?.stop();
      await relay.stop();
    }
    expect(recovery.publishS, 'seconds until publishing resumed').to.be.at.most(RESUME_WITHIN_S);
    expect(recovery.applyS, 'seconds until applying resumed').to.be.at.most(RESUME_WITHIN_S);
    return recovery;
  }

  /**
   * Takes `node` out (`how`), waits in `whileDown` for what the scenario checks, then until an
   * order placed after the loss went the whole way, and starts the node again. Returns the loss time.
   */
  async function loseNode(node: RabbitNode, how: 'kill' | 'stop', whileDown?: () => Promise<unknown>): Promise<number> {
    const lossAt = Date.now();
    await (how === 'kill' ? node.kill() : node.stop());
    await whileDown?.();
    await recoveryAfter(system, lossAt);
    await node.start();
    return lossAt;
  }

  /** The node a new AMQP connection went to: the one whose proxy has one more than `before`. */
  function newConnectionNode(before: number[]): Promise<RabbitNode> {
    return waitFor(
      () => {
        const found = world.proxies.findIndex((proxy, i) => proxy.connections() > before[i]!);
        return found === -1 ? undefined : world.cluster.nodes[found];
      },
      { timeoutMs: 30_000, intervalMs: 2, what: 'the relay to connect to a node' },
    );
  }

  it('SIGKILL of the node the relay is connected to, mid-drain: nothing lost, nothing applied twice', async () => {
    await underLoad('kill-relay-node', async () => {
      // A backlog for the relay to be draining when its node dies.
      await system.stop('relay');
      const backlog = await placeOrders(system, 300, { concurrency: 6 });
      const before = world.proxies.map((proxy) => proxy.connections());
      const starting = system.start('relay');
      const node = await newConnectionNode(before);
      // Mid-drain: the first of the backlog reached the broker, so a batch is on the wire, unconfirmed.
      await waitFor(() => unaudited(system, backlog).length < backlog.length, { timeoutMs: 30_000, intervalMs: 1, what: 'the relay to start draining' });
      const lossAt = await loseNode(node, 'kill', async () => {
        report(`killed ${node.nodename} (the relay's) with ${unaudited(system, backlog).length} of ${backlog.length} backlog events not yet routed`);
        await starting;
      });
      return [lossAt];
    });
  });

  it('SIGKILL of the node that leads the payments queue: the consumer goes on from the new leader', async () => {
    await underLoad('kill-payments-leader', async () => {
      const leader = await world.cluster.leaderOf(Topology.paymentQueue, system.vhost.name);
      const node = world.cluster.nodes.find((candidate) => candidate.nodename === leader)!;
      const newLeader = () =>
        waitFor(async () => (await world.cluster.leaderOf(Topology.paymentQueue, system.vhost.name)) !== leader, {
          timeoutMs: 30_000,
          intervalMs: 250,
          what: 'a new leader of the payments queue',
        });
      return [await loseNode(node, 'kill', newLeader)];
    });
  });

  it('a rolling restart of all three nodes under load, one at a time', async () => {
    await underLoad('rolling-restart', async () => {
      const losses: number[] = [];
      for (const node of world.cluster.nodes) {
        losses.push(await loseNode(node, 'stop'));
        // The next node goes only once this one is back in the cluster with its queue replicas.
        await world.healed();
      }
      return losses;
    });
  });

  it('clients cut off from one node that stays in the cluster: they move to the others', async () => {
    await underLoad('cut-clients-from-node', async () => {
      // The node most clients are on (the first of the list, unless an earlier loss moved them).
      const counts = world.proxies.map((proxy) => proxy.connections());
      const busiest = counts.indexOf(Math.max(...counts));
      const proxy = world.proxies[busiest]!;
      const lossAt = Date.now();
      proxy.cut();
      try {
        await recoveryAfter(system, lossAt);
        expect(world.cluster.nodes[busiest]!.running, 'the node stayed up').to.equal(true);
      } finally {
        proxy.restore();
      }
      return [lossAt];
    });
  });
});
