import { Connection } from 'rabbitmq-client';
import {
  amqpConnectionOptions,
  createLogger,
  createRedis,
  declareOrdersExchange,
  declarePaymentTopology,
  orderCacheKey,
  type RedisClient,
} from '@order-service/shared';
import {
  BASE_REDIS_URL,
  createTestDatabase,
  createTestVhost,
  rabbitmqctl,
  startTcpProxy,
  waitFor,
  type TcpProxy,
  type TestDatabase,
  type TestVhost,
} from '@order-service/testkit';
import { startAudit, type Audit } from './audit';
import { spawnService, startListening, type FaultProcess, type Role, type RunningProcess } from './processes';

/** Settings that make healing fast: short polls, leases and back-offs, and nothing ever parked. */
const ROLE_ENV: Record<Role, Record<string, string>> = {
  api: { API_RATE_LIMIT_ENABLED: 'false', DB_POOL_MAX: '5', REDIS_COMMAND_TIMEOUT_MS: '200' },
  relay: {
    DB_POOL_MAX: '4',
    RELAY_POLL_INTERVAL_MS: '200',
    RELAY_PUBLISH_TIMEOUT_MS: '1000',
    RELAY_LEASE_MS: '2000',
    RELAY_BACKOFF_BASE_MS: '50',
    RELAY_BACKOFF_MAX_MS: '500',
    RELAY_MAX_ATTEMPTS: '1000',
  },
  consumer: {
    DB_POOL_MAX: '6',
    CONSUMER_CONCURRENCY: '4',
    CONSUMER_PREFETCH: '8',
    CONSUMER_MAX_ATTEMPTS: '40',
    CONSUMER_RETRY_DELAY_MS: '50',
    CONSUMER_RETRY_MAX_DELAY_MS: '500',
  },
  simulator: { SIMULATOR_DELAY_MS: '0', SIMULATOR_SUCCESS_RATIO: '1', SIMULATOR_CONCURRENCY: '20' },
};

const ROLES = ['api', 'relay', 'consumer', 'simulator'] as const;

/**
 * Where the system's RabbitMQ is: the host's broker (the default), or a cluster of the test's own.
 * With a broker given, every process gets `clientUrl` (a cluster's nodes, behind proxies of the
 * broker's own) instead of the relay and consumer proxies.
 */
export interface SystemBroker {
  createVhost(name: string): Promise<TestVhost>;
  /** RABBITMQ_URL of the system's processes. */
  clientUrl(vhost: TestVhost): string;
  /** RABBITMQ_URL of the system's own admin and audit connection (never proxied). */
  adminUrl(vhost: TestVhost): string;
  ctl(...args: string[]): Promise<string>;
  /** Arguments of the audit queue: a quorum queue on a cluster, so that losing a node loses no record. */
  auditQueueArguments?: Record<string, unknown>;
}

const hostBroker: SystemBroker = {
  createVhost: (name) => createTestVhost(name),
  clientUrl: (vhost) => vhost.url,
  adminUrl: (vhost) => vhost.url,
  ctl: rabbitmqctl,
};

export interface Product {
  product_id: string;
  price: number;
}

/**
 * A whole order service in a database and vhost of its own: api, relay, consumer and payment
 * simulator as child processes, each dependency a fault may hit reached through a TCP proxy of
 * the system's own, and the audit queue. Faults touch only these.
 */
export interface FaultSystem {
  database: TestDatabase;
  vhost: TestVhost;
  /** rabbitmqctl against the system's broker. */
  ctl(...args: string[]): Promise<string>;
  /** The system's own AMQP connection (never proxied): audit, queue depths, topology faults. */
  admin: Connection;
  /** A Redis client of the system's own, for checks and cleanup (never proxied). */
  redis: RedisClient;
  audit: Audit;
  proxies: { relayAmqp: TcpProxy; consumerAmqp: TcpProxy; apiRedis: TcpProxy; apiPostgres: TcpProxy };
  processes: Partial<Record<Role, RunningProcess>>;
  apiUrl(): string;
  products(): Promise<Product[]>;
  /** The environment `role` runs with, plus `extra`. */
  env(role: Role, extra?: Record<string, string>): Record<string, string>;
  start(role: Role, extra?: Record<string, string>): Promise<RunningProcess>;
  /** Spawns an extra process of `role` that is not part of the system (e.g. a crash-point relay). */
  spawn(role: Role, extra?: Record<string, string>): FaultProcess;
  stop(role: Role): Promise<void>;
  /** Starts any of the four services that is not running (after a scenario that failed halfway). */
  ensureRunning(): Promise<void>;
  dispose(): Promise<void>;
}

const hostPort = (url: string, defaultPort: number): [string, number] => {
  const parsed = new URL(url);
  return [parsed.hostname, Number(parsed.port || defaultPort)];
};

export async function startSystem(name = 'faults', { broker }: { broker?: SystemBroker } = {}): Promise<FaultSystem> {
  const amqp = broker ?? hostBroker;
  const [database, vhost] = await Promise.all([createTestDatabase(name), amqp.createVhost(name)]);
  const admin = new Connection({ ...amqpConnectionOptions(amqp.adminUrl(vhost)), connectionName: `${name}-admin`, retryLow: 100, retryHigh: 1_000 });
  admin.on('error', () => {});
  const redis = createRedis(BASE_REDIS_URL, createLogger('faults', 'silent'));
  const [amqpHost, amqpPort] = hostPort(vhost.url, 5672);
  const [redisHost, redisPort] = hostPort(BASE_REDIS_URL, 6379);
  const [pgHost, pgPort] = hostPort(database.url, 5432);
  const [relayAmqp, consumerAmqp, apiRedis, apiPostgres] = await Promise.all([
    startTcpProxy(amqpHost, amqpPort),
    startTcpProxy(amqpHost, amqpPort),
    startTcpProxy(redisHost, redisPort),
    startTcpProxy(pgHost, pgPort),
  ]);
  const proxies = { relayAmqp, consumerAmqp, apiRedis, apiPostgres };

  // The audit queue exists before anything can be published, so it sees every event.
  await declareOrdersExchange(admin);
  await declarePaymentTopology(admin);
  const audit = startAudit(admin, amqp.auditQueueArguments);
  await waitFor(() => admin.queueDeclare({ queue: 'fault-audit', passive: true }), { timeoutMs: 20_000, what: 'the audit queue' });

  const processes: Partial<Record<Role, RunningProcess>> = {};
  let catalog: Product[] | undefined;

  const env = (role: Role, extra: Record<string, string> = {}): Record<string, string> => {
    const base = { DATABASE_URL: database.url, RABBITMQ_URL: amqp.clientUrl(vhost), REDIS_URL: BASE_REDIS_URL, ...ROLE_ENV[role] };
    if (role === 'api') Object.assign(base, { DATABASE_URL: apiPostgres.url(database.url), REDIS_URL: apiRedis.url(BASE_REDIS_URL) });
    if (role === 'relay' && !broker) base.RABBITMQ_URL = relayAmqp.url(vhost.url);
    if (role === 'consumer' && !broker) base.RABBITMQ_URL = consumerAmqp.url(vhost.url);
    return { ...base, ...extra };
  };

  const system: FaultSystem = {
    database,
    vhost,
    ctl: amqp.ctl,
    admin,
    redis,
    audit,
    proxies,
    processes,
    apiUrl() {
      const api = processes.api;
      if (!api) throw new Error('the api is not running');
      return `http://127.0.0.1:${api.port}`;
    },
    async products() {
      catalog ??= (await (await fetch(`${system.apiUrl()}/api/products`)).json()) as Product[];
      return catalog;
    },
    env,
    async start(role, extra) {
      if (processes[role]?.running) throw new Error(`${role} is already running`);
      delete processes[role];
      const started = await startListening(role, env(role, extra));
      processes[role] = started;
      return started;
    },
    spawn: (role, extra) => spawnService(role, env(role, extra)),
    async stop(role) {
      await processes[role]?.stop();
      delete processes[role];
    },
    async ensureRunning() {
      for (const role of ROLES) if (!processes[role]?.running) await system.start(role);
    },
    async dispose() {
      await Promise.allSettled(Object.values(processes).map((proc) => proc.stop()));
      await audit.close().catch(() => {});
      await admin.close().catch(() => {});
      await Promise.allSettled(Object.values(proxies).map((proxy) => proxy.close()));
      // Leave the shared Redis as it was: the cache entries and tombstones of this system's orders.
      const orders = await database.db.selectFrom('orders').select('order_id').execute().catch(() => []);
      const keys = orders.map((order) => orderCacheKey(order.order_id));
      for (let i = 0; i < keys.length; i += 500) await redis.del(keys.slice(i, i + 500)).catch(() => {});
      redis.destroy();
      await Promise.allSettled([database.drop(), vhost.drop()]);
    },
  };

  try {
    await waitFor(() => redis.isReady, { timeoutMs: 10_000, what: 'redis' });
    await Promise.all(ROLES.map((role) => system.start(role)));
  } catch (error) {
    await system.dispose();
    throw error;
  }
  return system;
}
