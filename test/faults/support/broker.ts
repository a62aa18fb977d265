import { Topology, declareOrdersExchange } from '@order-service/shared';
import { rabbitmqctl } from '@order-service/testkit';
import { SIMULATOR_QUEUE } from '../../../services/consumer/src/simulator/simulator';
import type { FaultSystem } from './system';

/** The broker's memory high watermark as `set_vm_memory_high_watermark` takes it back. */
async function currentWatermark(): Promise<string[]> {
  const text = (await rabbitmqctl('eval', 'vm_memory_monitor:get_vm_memory_high_watermark().')).trim();
  const absolute = /^\{absolute,\s*"?([^"}]+)"?\}$/.exec(text);
  if (absolute) return ['absolute', absolute[1]!];
  if (!/^\d+(\.\d+)?$/.test(text)) throw new Error(`unexpected memory watermark ${text}`);
  return [text];
}

/**
 * Blocks every publisher of the broker (a memory alarm) while `during` runs. The alarm is
 * global, so it is kept as short as `during` and always lifted, with the watermark as it was.
 */
export async function withBrokerBlocked<T>(during: () => Promise<T>): Promise<T> {
  const original = await currentWatermark();
  try {
    await rabbitmqctl('set_vm_memory_high_watermark', '0');
    return await during();
  } finally {
    await rabbitmqctl('set_vm_memory_high_watermark', ...original);
  }
}

/** Deletes the `orders` exchange of the system's vhost (its bindings go with it). */
export async function deleteOrdersExchange(system: FaultSystem): Promise<void> {
  await system.admin.exchangeDelete({ exchange: Topology.ordersExchange });
}

/**
 * What an operator does after the exchange was deleted: declare it again and bind its queues
 * (the simulator's and the audit queue) again. The relay is cut off meanwhile, so nothing it
 * publishes can land in a half-restored topology (which the alternate exchange would catch).
 */
export async function restoreOrdersExchange(system: FaultSystem): Promise<void> {
  system.proxies.relayAmqp.cut();
  try {
    await declareOrdersExchange(system.admin);
    await system.admin.queueBind({ queue: SIMULATOR_QUEUE, exchange: Topology.ordersExchange, routingKey: Topology.orderCreatedKey });
    await system.audit.rebind();
  } finally {
    system.proxies.relayAmqp.restore();
  }
}
