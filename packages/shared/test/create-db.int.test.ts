import { expect } from 'chai';
import { sql } from 'kysely';
import { createDb } from '@order-service/shared';
import { BASE_DATABASE_URL } from '@order-service/testkit';

describe('createDb', () => {
  const setting = async (options: { asynchronousCommit?: boolean }) => {
    const db = createDb(BASE_DATABASE_URL, { max: 1, applicationName: 'create-db-test', ...options });
    try {
      const { rows } = await sql<{ synchronous_commit: string }>`show synchronous_commit`.execute(db);
      return rows[0]!.synchronous_commit;
    } finally {
      await db.destroy();
    }
  };

  it('commits synchronously unless asked otherwise', async () => {
    expect(await setting({})).to.equal('on');
  });

  it('commits without waiting for the disk when asked (the relay, whose marks may be lost in a crash)', async () => {
    expect(await setting({ asynchronousCommit: true })).to.equal('off');
  });
});
