import { Topology, declareOrdersExchange, simulatorBinding } from '@order-service/shared';
import type { FaultSystem } from './system';

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
    await system.admin.queueBind(simulatorBinding);
    await system.audit.rebind();
  } finally {
    system.proxies.relayAmqp.restore();
  }
}
