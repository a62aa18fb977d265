import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { BASE_DATABASE_URL, runService } from '@order-service/testkit';
import { dropDatabase } from '../src/db/migrate';

/** `pnpm migrate` runs `tsx scripts/migrate.ts`. */
describe('pnpm migrate (tsx scripts/migrate.ts)', function () {
  this.timeout(60_000);
  const url = new URL(BASE_DATABASE_URL);
  url.pathname = `/migrate_e2e_${randomUUID().replaceAll('-', '').slice(0, 16)}`;

  after(async () => {
    await dropDatabase(url.toString());
  });

  it('migrates a fresh database, and running it again changes nothing', async () => {
    const first = await runService('scripts/migrate.ts', { DATABASE_URL: url.toString() });
    expect(first.code, first.stderr).to.equal(0);
    expect(first.stdout).to.include('migrations applied');
    const second = await runService('scripts/migrate.ts', { DATABASE_URL: url.toString() });
    expect(second.code, second.stderr).to.equal(0);
    expect(second.stdout).to.include('schema up to date');
  });
});
