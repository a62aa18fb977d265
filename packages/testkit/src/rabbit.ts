import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const BASE_RABBITMQ_URL = process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

/**
 * The rabbitmqctl command line: `RABBITMQCTL` when set; else the local binary; and where there is
 * none (RabbitMQ runs in Docker Compose), the one inside the compose service, so the suite runs
 * unchanged against `docker compose up -d postgres redis rabbitmq`.
 */
function rabbitmqctlCommand(): string[] {
  if (process.env.RABBITMQCTL) return process.env.RABBITMQCTL.split(' ').filter(Boolean);
  const onPath = (process.env.PATH ?? '').split(':').some((dir) => dir && existsSync(`${dir}/rabbitmqctl`));
  return onPath ? ['rabbitmqctl'] : ['docker', 'compose', 'exec', '-T', 'rabbitmq', 'rabbitmqctl'];
}

/** Runs rabbitmqctl with a timeout; tests use it for vhosts and for fault injection. */
export async function rabbitmqctl(...args: string[]): Promise<string> {
  const [command, ...prefix] = rabbitmqctlCommand();
  const { stdout } = await run(command!, [...prefix, '-q', ...args], { timeout: 30_000 });
  return stdout;
}

/** A vhost of the test's own, deleted (with everything in it) by `drop()`. */
export interface TestVhost {
  name: string;
  url: string;
  drop(): Promise<void>;
}

export async function createTestVhost(prefix = 'test'): Promise<TestVhost> {
  const name = `${prefix}-${randomUUID().slice(0, 8)}`;
  await rabbitmqctl('add_vhost', name);
  await rabbitmqctl('set_permissions', '-p', name, 'guest', '.*', '.*', '.*');
  const url = new URL(BASE_RABBITMQ_URL);
  url.pathname = `/${encodeURIComponent(name)}`;
  return {
    name,
    url: url.toString(),
    drop: async () => {
      await rabbitmqctl('delete_vhost', name);
    },
  };
}
