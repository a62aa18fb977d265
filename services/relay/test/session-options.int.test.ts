import { expect } from 'chai';
import { sql } from 'kysely';
import { createDb } from '@order-service/shared';
import { BASE_DATABASE_URL } from '@order-service/testkit';
import { relaySessionOptions } from '../src/collaborators';

describe('relay: its Postgres sessions', () => {
  it('end a claim left idle past the lease, and commit their marks without waiting for the disk', async () => {
    const db = createDb(BASE_DATABASE_URL, { max: 1, applicationName: 'relay-session-test', ...relaySessionOptions({ leaseMs: 15_000 }) });
    try {
      const { rows } = await sql<{ sync: string; idle: string }>`
        select current_setting('synchronous_commit') as sync, current_setting('idle_in_transaction_session_timeout') as idle`.execute(db);
      expect(rows[0]).to.deep.equal({ sync: 'off', idle: '15s' });
    } finally {
      await db.destroy();
    }
  });
});
