import { fileURLToPath } from 'node:url';
import { runner } from 'node-pg-migrate';
import pg from 'pg';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../../../migrations', import.meta.url));

/**
 * Runs `work` with the name of the database in `databaseUrl` and a client connected to the
 * `postgres` database of the same server: a database cannot be created or dropped from itself.
 */
async function onServer(databaseUrl: string, work: (client: pg.Client, name: string) => Promise<void>): Promise<void> {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.slice(1));
  url.pathname = '/postgres';
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    await work(client, name);
  } finally {
    await client.end();
  }
}

/** Creates the database named in `databaseUrl` if it does not exist yet. */
export function ensureDatabase(databaseUrl: string): Promise<void> {
  return onServer(databaseUrl, async (client, name) => {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount !== 0) return;
    await client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`).catch((error: { code?: string }) => {
      // Another process created it between the check and the create (a race can also surface
      // as a unique violation on pg_database).
      if (error.code !== '42P04' && error.code !== '23505') throw error;
    });
  });
}

/** Drops the database named in `databaseUrl`, disconnecting any sessions still on it. */
export function dropDatabase(databaseUrl: string): Promise<void> {
  return onServer(databaseUrl, async (client, name) => {
    await client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
  });
}

/**
 * Applies every pending migration. node-pg-migrate takes an advisory lock and records what
 * ran, so running it twice, or from two processes at once, is safe.
 */
export async function migrateDatabase(
  databaseUrl: string,
  log: (message: string) => void = () => {},
): Promise<Array<{ name: string }>> {
  await ensureDatabase(databaseUrl);
  return runner({
    databaseUrl,
    dir: MIGRATIONS_DIR,
    direction: 'up',
    migrationsTable: 'pgmigrations',
    checkOrder: true,
    // The default ('fail') makes a second process that migrates at the same time exit with an
    // error; waiting for the lock lets it find the work done and apply nothing.
    advisoryLockMode: 'wait',
    log,
  });
}
