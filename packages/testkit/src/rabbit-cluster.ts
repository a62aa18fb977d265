import { randomUUID } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRabbitNode, freePort, rabbitmqServerScript, type RabbitNode } from './rabbit-node';
import { waitFor } from './wait';

/** What every node of a test cluster runs with: quorum queue leaders spread over the nodes, as in deploy/rabbitmq/cluster.conf. */
const CLUSTER_CONFIG = ['queue_leader_locator = balanced'];

/** A RabbitMQ cluster of the test's own on this machine: its own node names, ports and folders. */
export interface RabbitCluster {
  nodes: RabbitNode[];
  /** One AMQP URL per node for `vhost`, in node order. */
  urls(vhost?: string): string[];
  /** rabbitmqctl against the first running node. */
  ctl(...args: string[]): Promise<string>;
  /** The node that leads a quorum queue now (`name@localhost`). */
  leaderOf(queue: string, vhost?: string): Promise<string>;
  /** The node that `port` (an AMQP listener of the cluster) belongs to. */
  nodeOfPort(port: number): RabbitNode | undefined;
  /** Waits until every node runs and sees all the others. */
  waitForMembers(timeoutMs?: number): Promise<void>;
  /** Stops every node and removes the cluster's folder, whatever state it is in. */
  dispose(): Promise<void>;
}

const live = new Set<RabbitCluster>();
// A test run that ends without dispose() (an uncaught error) still leaves no broker behind.
process.once('exit', () => {
  for (const cluster of live) for (const node of cluster.nodes) void node.kill();
});

/**
 * Starts `size` nodes from a temporary folder and free ports and clusters them. The first boots
 * alone; the others boot together and join it through classic config peer discovery (a blank
 * node joins the first listed peer it reaches), so the whole cluster is up in about two boots.
 * The host's own node (rabbit@localhost, 5672) is never touched; the Erlang cookie is the host's.
 */
export async function startRabbitCluster({ size = 3, prefix = 'testkit' }: { size?: number; prefix?: string } = {}): Promise<RabbitCluster> {
  rabbitmqServerScript();
  const id = randomUUID().slice(0, 6);
  const root = mkdtempSync(join(tmpdir(), `rabbit-cluster-${id}-`));
  const names = Array.from({ length: size }, (_, index) => `${prefix}-${id}-${index + 1}`);
  const nodes: RabbitNode[] = [];
  const first = `${names[0]}@localhost`;
  for (const name of names) {
    const dir = join(root, name);
    mkdirSync(dir);
    const [amqpPort, distPort] = [await freePort(), await freePort()];
    const peers = name === names[0] ? [] : ['cluster_formation.peer_discovery_backend = classic_config', `cluster_formation.classic_config.nodes.1 = ${first}`];
    nodes.push(createRabbitNode({ name, dir, amqpPort, distPort, extraConfig: [...CLUSTER_CONFIG, ...peers] }));
  }
  // The node folders belong to the broker user (when we are root), so the root folder must let it in.
  chmodSync(root, 0o755);

  const running = () => nodes.filter((node) => node.running);
  const cluster: RabbitCluster = {
    nodes,
    urls: (vhost = '/') => nodes.map((node) => node.url(vhost)),
    async ctl(...args) {
      const node = running()[0];
      if (!node) throw new Error('no node of the cluster is running');
      return node.ctl(...args);
    },
    async leaderOf(queue, vhost = '/') {
      const rows = JSON.parse(await cluster.ctl('list_queues', '-p', vhost, 'name', 'leader', '--formatter', 'json')) as Array<{ name: string; leader: string }>;
      const row = rows.find((entry) => entry.name === queue);
      if (!row?.leader) throw new Error(`queue ${queue} has no leader now`);
      return row.leader;
    },
    nodeOfPort: (port) => nodes.find((node) => node.amqpPort === port),
    async waitForMembers(timeoutMs = 60_000) {
      await waitFor(
        async () => {
          if (running().length < nodes.length) return false;
          const status = JSON.parse(await cluster.ctl('cluster_status', '--formatter', 'json')) as { running_nodes?: string[] };
          return nodes.every((node) => status.running_nodes?.includes(node.nodename));
        },
        { timeoutMs, intervalMs: 500, what: `all ${nodes.length} nodes to run in one cluster` },
      );
    },
    async dispose() {
      live.delete(cluster);
      await Promise.allSettled(nodes.map((node) => node.kill()));
      rmSync(root, { recursive: true, force: true });
    },
  };
  live.add(cluster);

  try {
    await nodes[0]!.start();
    await Promise.all(nodes.slice(1).map((node) => node.start()));
    await cluster.waitForMembers();
  } catch (error) {
    const logs = nodes.map((node) => `--- ${node.nodename}\n${node.logTail(1_500)}`).join('\n');
    await cluster.dispose();
    throw new Error(`the RabbitMQ test cluster did not start: ${(error as Error).message}\n${logs}`, { cause: error });
  }
  return cluster;
}
