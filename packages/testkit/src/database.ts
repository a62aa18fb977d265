import { randomUUID } from 'node:crypto';
import { createDb, type Db } from '@order-service/shared';
import { dropDatabase, migrateDatabase } from '@order-service/shared/migrate';

export const BASE_DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** A migrated database of the test's own, dropped by `drop()`. */
export interface TestDatabase {
  url: string;
  name: string;
  db: Db;
  drop(): Promise<void>;
}

/** Creates and migrates a uniquely named database, so test runs never share data. */
export async function createTestDatabase(prefix = 'test'): Promise<TestDatabase> {
  const url = new URL(BASE_DATABASE_URL);
  const name = `${prefix}_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
  url.pathname = `/${name}`;
  await migrateDatabase(url.toString());
  const db = createDb(url.toString(), { max: 5, applicationName: 'test' });
  return {
    url: url.toString(),
    name,
    db,
    async drop() {
      await db.destroy();
      await dropDatabase(url.toString());
    },
  };
}
