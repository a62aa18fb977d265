import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { sql } from 'kysely';
import { BASE_DATABASE_URL } from '@order-service/testkit';
import { createDb } from '../src/db/index';
import { dropDatabase, migrateDatabase } from '../src/db/migrate';

describe('migrateDatabase', function () {
  this.timeout(60_000);
  const scratch = () => {
    const url = new URL(BASE_DATABASE_URL);
    url.pathname = `/migrate_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
    return url.toString();
  };
  const created: string[] = [];

  after(async () => {
    for (const databaseUrl of created) await dropDatabase(databaseUrl);
  });

  it('creates a missing database, applies every migration once, and is a no-op the second time', async () => {
    const databaseUrl = scratch();
    created.push(databaseUrl);
    const first = await migrateDatabase(databaseUrl);
    expect(first.length).to.be.greaterThan(0);
    const second = await migrateDatabase(databaseUrl);
    expect(second).to.deep.equal([]);
    const db = createDb(databaseUrl, { max: 1, applicationName: 'migrate-test' });
    try {
      const { rows } = await sql<{ name: string }>`SELECT name FROM pgmigrations ORDER BY id`.execute(db);
      expect(rows.map((row) => row.name)).to.deep.equal(first.map((migration) => migration.name));
      const products = await db.selectFrom('products').select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow();
      expect(products.n, 'the seed ran once').to.equal(5);
    } finally {
      await db.destroy();
    }
  });

  it('is safe when two processes migrate a fresh database at once: one applies, the other waits and finds it done', async () => {
    const databaseUrl = scratch();
    created.push(databaseUrl);
    const results = await Promise.all([migrateDatabase(databaseUrl), migrateDatabase(databaseUrl)]);
    const applied = results.map((migrations) => migrations.length).sort((a, b) => a - b);
    expect(applied[0]).to.equal(0);
    expect(applied[1]).to.be.greaterThan(0);
  });
});
