import path from 'node:path';
import { sql } from 'kysely';
import { Connection } from 'rabbitmq-client';
import {
  SERVICE_ENTRIES,
  createTestDatabase,
  createTestVhost,
  type ServiceRole as Role,
  type TestDatabase,
  type TestVhost,
} from '@order-service/testkit';
import { PeakMemory } from './memory';
import { startProcess, type BenchProcess } from './processes';
import { metricValue, scrape } from './prometheus';
import { progress } from './progress';

/** A service the bench starts, by its `pnpm start:<role>` name. */
export type { Role };

/**
 * Everything one bench run owns: its database and vhost, the processes it started, and an
 * AMQP connection of its own. `dispose()` undoes all of it; run.ts calls it on success,
 * failure and Ctrl-C alike.
 */
export class BenchEnvironment {
  readonly memory = new PeakMemory();
  private readonly running = new Map<Role, BenchProcess>();
  private amqp: Connection | undefined;
  private disposing: Promise<void> | undefined;

  private constructor(
    readonly database: TestDatabase,
    readonly vhost: TestVhost,
    readonly redisUrl: string,
    private readonly profileDir: string | undefined,
  ) {}

  /** `profileDir`: run every service with --cpu-prof, writing its profiles to <profileDir>/<role>. */
  static async create(profileDir: string | undefined): Promise<BenchEnvironment> {
    const database = await createTestDatabase('bench');
    const vhost = await createTestVhost('bench').catch(async (error: unknown) => {
      await database.drop();
      throw error;
    });
    return new BenchEnvironment(database, vhost, process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0', profileDir);
  }

  get db() {
    return this.database.db;
  }

  /** The environment every service gets: the bench's own database and vhost, logs at warn, no rate limit. */
  serviceEnv(): Record<string, string> {
    return {
      DATABASE_URL: this.database.url,
      RABBITMQ_URL: this.vhost.url,
      REDIS_URL: this.redisUrl,
      LOG_LEVEL: 'warn',
      API_RATE_LIMIT_ENABLED: 'false',
    };
  }

  /**
   * The bench's own AMQP connection (audit queues, the bare publisher, queued events). Nagle is
   * off: on a connection that both consumes (acks) and publishes, Nagle's algorithm and the
   * broker's delayed ACK hold a publish for up to 40 ms, and the bench must not add stalls.
   */
  connection(): Connection {
    this.amqp ??= new Connection({ url: this.vhost.url, connectionName: 'bench', noDelay: true });
    return this.amqp;
  }

  /** Starts `role` unless it runs already; returns the running process. */
  async ensure(role: Role, env: Record<string, string> = {}): Promise<BenchProcess> {
    const current = this.running.get(role);
    if (current) return current;
    progress(`starting ${role}`);
    const started = await startProcess({
      role,
      entry: SERVICE_ENTRIES[role],
      env: { ...this.serviceEnv(), ...env },
      memory: this.memory,
      nodeArgs: this.profileArgs(role),
    });
    this.running.set(role, started);
    return started;
  }

  /** The node flags that profile `role` (a service, or a limit's own process) when the run profiles. */
  profileArgs(role: string): string[] | undefined {
    return this.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${path.join(this.profileDir, role)}`] : undefined;
  }

  /** The service processes running now. */
  processes(): BenchProcess[] {
    return [...this.running.values()];
  }

  /** Stops `role` if it runs (SIGTERM, as an operator would). */
  async stop(...roles: Role[]): Promise<void> {
    await Promise.all(
      roles.map(async (role) => {
        const current = this.running.get(role);
        if (!current) return;
        this.running.delete(role);
        await this.recordHeap(role, current);
        await current.stop();
      }),
    );
  }

  /**
   * Runs exactly these roles: starts the missing ones and stops the others, so no other service
   * takes CPU or publishes while a figure is measured. Roles in `mayIdle` are left as they are
   * (an idle process costs nothing, and not restarting it saves seconds).
   */
  async only(
    roles: Role[],
    { env = {}, mayIdle = [] }: { env?: Partial<Record<Role, Record<string, string>>>; mayIdle?: Role[] } = {},
  ): Promise<Record<Role, BenchProcess | undefined>> {
    await this.stop(...(Object.keys(SERVICE_ENTRIES) as Role[]).filter((role) => !roles.includes(role) && !mayIdle.includes(role)));
    for (const role of roles) await this.ensure(role, env[role]);
    return Object.fromEntries((Object.keys(SERVICE_ENTRIES) as Role[]).map((role) => [role, this.running.get(role)])) as Record<Role, BenchProcess | undefined>;
  }

  /**
   * V8's own view of a process's memory just before it stops (prom-client's default metrics),
   * kept for the instance with the largest heap: tells heap growth from code and native memory
   * when figure 7 is over budget.
   */
  readonly heaps = new Map<Role, Record<string, number>>();

  private async recordHeap(role: Role, running: BenchProcess): Promise<void> {
    const metrics = await scrape(running.port).catch(() => undefined);
    if (!metrics) return;
    const mb = (name: string) => Math.round(((metricValue(metrics, name) ?? NaN) / 1024 ** 2) * 10) / 10;
    const heap = {
      rssMb: mb('process_resident_memory_bytes'),
      heapTotalMb: mb('nodejs_heap_size_total_bytes'),
      heapUsedMb: mb('nodejs_heap_size_used_bytes'),
      externalMb: mb('nodejs_external_memory_bytes'),
    };
    if (!(heap.heapTotalMb <= (this.heaps.get(role)?.heapTotalMb ?? -1))) this.heaps.set(role, heap);
  }

  /** Empties every table but the catalog, so each figure starts from the same state. */
  async resetTables(): Promise<void> {
    const tables = await sql<{ tablename: string }>`
      select tablename from pg_tables
      where schemaname = 'public' and tablename not in ('products', 'pgmigrations')`.execute(this.db);
    if (tables.rows.length === 0) return;
    const names = tables.rows.map((row) => `"${row.tablename}"`).join(', ');
    await sql.raw(`truncate ${names} restart identity cascade`).execute(this.db);
    await sql`vacuum analyze`.execute(this.db).catch(() => {});
  }

  /** Stops every process, closes the connection, drops the database and the vhost. Safe to call twice. */
  dispose(): Promise<void> {
    // Ctrl-C, a crash and the normal end may all ask; they share one cleanup and all wait for it.
    this.disposing ??= this.cleanUp();
    return this.disposing;
  }

  private async cleanUp(): Promise<void> {
    this.memory.close();
    const errors: unknown[] = [];
    await this.stop(...this.running.keys());
    if (this.amqp) await this.amqp.close().catch((error: unknown) => errors.push(error));
    this.amqp = undefined;
    await this.database.drop().catch((error: unknown) => errors.push(error));
    await this.vhost.drop().catch((error: unknown) => errors.push(error));
    if (errors.length > 0) progress(`cleanup had errors: ${errors.map(String).join('; ')}`);
  }
}
