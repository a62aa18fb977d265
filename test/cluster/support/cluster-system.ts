import { randomUUID } from 'node:crypto';
import { startRabbitCluster, startTcpProxy, waitFor, type RabbitCluster, type RabbitNode, type TcpProxy } from '@order-service/testkit';
import { startSystem, type FaultSystem, type SystemBroker } from '../../faults/support/system';

/**
 * The fault system (api, relay, consumer, simulator as child processes) on a three-node RabbitMQ
 * cluster of the test's own. Every process gets all three nodes in RABBITMQ_URL, each behind a
 * TCP proxy, so a test can cut clients off one node while the node stays in the cluster.
 */
export interface ClusterSystem {
  cluster: RabbitCluster;
  /** proxies[i] stands in front of cluster.nodes[i]. */
  proxies: TcpProxy[];
  system: FaultSystem;
  /** The proxy of `node`. */
  proxyOf(node: RabbitNode): TcpProxy;
  /** Waits until all three nodes run in one cluster again and every quorum queue has all its members back. */
  healed(timeoutMs?: number): Promise<void>;
  dispose(): Promise<void>;
}

export async function startClusterSystem(): Promise<ClusterSystem> {
  const cluster = await startRabbitCluster({ prefix: 'orders' });
  const proxies: TcpProxy[] = [];
  let system: FaultSystem | undefined;
  const dispose = async () => {
    await system?.dispose().catch(() => {});
    await Promise.allSettled(proxies.map((proxy) => proxy.close()));
    await cluster.dispose();
  };
  try {
    proxies.push(...(await Promise.all(cluster.nodes.map((node) => startTcpProxy('127.0.0.1', node.amqpPort)))));
    const broker: SystemBroker = {
      async createVhost(name) {
        const vhost = `${name}-${randomUUID().slice(0, 8)}`;
        await cluster.ctl('add_vhost', vhost);
        await cluster.ctl('set_permissions', '-p', vhost, 'guest', '.*', '.*', '.*');
        // The whole cluster is removed afterwards, and with it the vhost.
        return { name: vhost, url: cluster.nodes[0]!.url(vhost), drop: async () => {} };
      },
      clientUrl: (vhost) => cluster.nodes.map((node, index) => proxies[index]!.url(node.url(vhost.name))).join(','),
      adminUrl: (vhost) => cluster.urls(vhost.name).join(','),
      ctl: (...args) => cluster.ctl(...args),
      auditQueueArguments: { 'x-queue-type': 'quorum' },
    };
    system = await startSystem('cluster', { broker });
  } catch (error) {
    await dispose();
    throw error;
  }
  const started = system;
  return {
    cluster,
    proxies,
    system: started,
    proxyOf: (node) => proxies[cluster.nodes.indexOf(node)]!,
    async healed(timeoutMs = 60_000) {
      for (const proxy of proxies) proxy.restore();
      for (const node of cluster.nodes) if (!node.running) await node.start();
      await cluster.waitForMembers(timeoutMs);
      await waitFor(
        async () => {
          const text = await cluster.ctl('list_queues', '-p', started.vhost.name, 'name', 'members', 'online', '--formatter', 'json');
          const queues = JSON.parse(text) as Array<{ members: string[]; online: string[] }>;
          return queues.every((queue) => queue.online.length === cluster.nodes.length && queue.members.length === cluster.nodes.length);
        },
        { timeoutMs, intervalMs: 500, what: 'every quorum queue to have all its members online' },
      );
    },
    dispose,
  };
}
