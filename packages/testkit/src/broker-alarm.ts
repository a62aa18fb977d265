import { rabbitmqctl } from './rabbit';

/**
 * The broker's memory high watermark as it is configured (rabbitmq.conf, or RabbitMQ's own
 * default), in the arguments `set_vm_memory_high_watermark` takes. The configured value, not the
 * current one: after a run that was killed while the broker was blocked, the current one is 0.
 */
export async function configuredWatermark(): Promise<string[]> {
  const configured = (await rabbitmqctl('eval', 'application:get_env(rabbit, vm_memory_high_watermark).')).trim();
  // {ok,0.4} | {ok,{relative,0.4}} | {ok,{absolute,2000000000}} | {ok,{absolute,"2GB"}} | undefined
  const value = /^\{ok,\s*(.+)\}$/.exec(configured)?.[1]?.trim();
  const absolute = value && /^\{absolute,\s*"?([^"}]+)"?\}$/.exec(value);
  if (absolute) return ['absolute', absolute[1]!];
  const relative = value && /^(?:\{relative,\s*)?(\d+(?:\.\d+)?)\}?$/.exec(value);
  if (relative && Number(relative[1]) > 0) return [relative[1]!];
  throw new Error(`cannot read the broker's configured memory watermark (got ${configured}); not blocking it`);
}

/** The watermark to put back while the broker is blocked by this process, else undefined. */
let restoreTo: string[] | undefined;

/**
 * Blocks every publisher of the broker (a memory alarm: the watermark set to 0). The alarm is
 * broker-wide, so every other tenant of the broker feels it: keep it short, and lift it with
 * `unblockBrokerPublishers` in a `finally`, and in an `after` hook for a test that times out.
 */
export async function blockBrokerPublishers(): Promise<void> {
  restoreTo ??= await configuredWatermark();
  await rabbitmqctl('set_vm_memory_high_watermark', '0');
}

/** Puts the configured watermark back if this process blocked the broker; harmless to call again. */
export async function unblockBrokerPublishers(): Promise<void> {
  if (!restoreTo) return;
  await rabbitmqctl('set_vm_memory_high_watermark', ...restoreTo);
  restoreTo = undefined;
}

/** Runs `during` with the broker blocking publishers, and always lifts the block afterwards. */
export async function withBrokerBlocked<T>(during: () => Promise<T>): Promise<T> {
  await blockBrokerPublishers();
  try {
    return await during();
  } finally {
    await unblockBrokerPublishers();
  }
}
