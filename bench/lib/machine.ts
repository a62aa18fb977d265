import { execFile } from 'node:child_process';
import os from 'node:os';
import { promisify } from 'node:util';
import { sql } from 'kysely';
import { createClient } from 'redis';
import type { Db } from '@order-service/shared';
import { rabbitmqctl } from '@order-service/testkit';
import type { Machine } from '../report/results';

const run = promisify(execFile);

/** The machine the numbers were taken on: cores, Node, and the versions of every server. */
export async function describeMachine(db: Db, redisUrl: string): Promise<Machine> {
  const unknown = () => 'unknown';
  const postgres = await sql<{ v: string }>`select current_setting('server_version') as v`
    .execute(db)
    .then((result) => result.rows[0]!.v, unknown);
  const pgbench = await run('pgbench', ['--version']).then(({ stdout }) => /\(PostgreSQL\) (\S+)/.exec(stdout)?.[1] ?? 'unknown', unknown);
  const rabbitmq = await rabbitmqctl('version').then((out) => out.trim(), unknown);
  const redis = await redisVersion(redisUrl).catch(unknown);
  const cpus = os.cpus();
  return {
    cores: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    memoryGb: Math.round(os.totalmem() / 1024 ** 3),
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    postgres,
    pgbench,
    rabbitmq,
    redis,
    loadAverage: { start: os.loadavg()[0]!, end: NaN },
  };
}

async function redisVersion(url: string): Promise<string> {
  const client = createClient({ url, socket: { connectTimeout: 1_000, reconnectStrategy: false } });
  client.on('error', () => {});
  await client.connect();
  try {
    const info = await client.info('server');
    return /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
  } finally {
    await client.close();
  }
}
