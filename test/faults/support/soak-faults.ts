import { sql } from 'kysely';
import { waitFor, withBrokerBlocked } from '@order-service/testkit';
import { deleteOrdersExchange, restoreOrdersExchange } from './broker';
import type { Role } from './processes';
import type { FaultSystem } from './system';

/** One fault of the soak: `run` injects it, holds it a moment, and heals it (always, in `finally`). */
export interface SoakFault {
  name: string;
  run(system: FaultSystem): Promise<void>;
}

const hold = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** SIGKILL at a random moment (no hook), then start it again as a supervisor would. */
const killed = (role: Role): SoakFault => ({
  name: `${role}-sigkill`,
  async run(system) {
    await system.processes[role]?.kill();
    delete system.processes[role];
    await system.start(role);
  },
});

/** Replaces the running process by one armed with a test-only crash point, lets it die there, then restarts it. */
const crashPoint = (role: 'relay' | 'consumer', env: Record<string, string>, name: string): SoakFault => ({
  name,
  async run(system) {
    await system.stop(role);
    const crashing = system.spawn(role, env);
    try {
      await waitFor(() => !crashing.running, { timeoutMs: 30_000, what: `${role} to crash` });
    } finally {
      await crashing.kill();
      await system.start(role);
    }
  },
});

const proxyFault = (name: string, proxy: keyof FaultSystem['proxies'], mode: 'cut' | 'stall', ms: number): SoakFault => ({
  name,
  async run(system) {
    system.proxies[proxy][mode]();
    try {
      await hold(ms);
    } finally {
      system.proxies[proxy].restore();
    }
  },
});

export const SOAK_FAULTS: SoakFault[] = [
  killed('relay'),
  killed('consumer'),
  killed('api'),
  crashPoint('relay', { RELAY_CRASH_POINT: 'after-confirm' }, 'relay-crash-after-confirm'),
  crashPoint('relay', { RELAY_CRASH_POINT: 'before-publish' }, 'relay-crash-before-publish'),
  crashPoint('consumer', { CONSUMER_CRASH_POINT: 'after-commit' }, 'consumer-crash-after-commit'),
  proxyFault('relay-broker-cut', 'relayAmqp', 'cut', 3_000),
  proxyFault('consumer-broker-cut', 'consumerAmqp', 'cut', 3_000),
  proxyFault('redis-stalled', 'apiRedis', 'stall', 3_000),
  proxyFault('redis-gone', 'apiRedis', 'cut', 3_000),
  proxyFault('api-postgres-gone', 'apiPostgres', 'cut', 2_000),
  {
    name: 'consumer-postgres-terminated',
    async run(system) {
      for (let i = 0; i < 3; i += 1) {
        await sql`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                   WHERE datname = current_database() AND application_name = 'order-service-consumer'`.execute(system.database.db);
        await hold(300);
      }
    },
  },
  {
    name: 'orders-exchange-deleted',
    async run(system) {
      await deleteOrdersExchange(system);
      try {
        await hold(2_000);
      } finally {
        await restoreOrdersExchange(system);
      }
    },
  },
  {
    // Global to the broker: kept to two seconds, and lifted in `finally`.
    name: 'broker-blocked',
    run: () => withBrokerBlocked(() => hold(2_000)),
  },
];
