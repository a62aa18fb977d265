import { expect } from 'chai';
import { sql } from 'kysely';
import { createDb, type SessionSettings } from '@order-service/shared';
import { BASE_DATABASE_URL } from '@order-service/testkit';

describe('createDb', () => {
  const setting = async (options: SessionSettings, name = 'synchronous_commit') => {
    const db = createDb(BASE_DATABASE_URL, { max: 1, applicationName: 'create-db-test', ...options });
    try {
      const { rows } = await sql<{ setting: string }>`select current_setting(${name}) as setting`.execute(db);
      return rows[0]!.setting;
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

  it('plans as Postgres chooses and may scan tables unless asked to plan once', async () => {
    expect(await setting({}, 'plan_cache_mode')).to.equal('auto');
    expect(await setting({}, 'enable_seqscan')).to.equal('on');
    expect(await setting({ planOnce: true }, 'plan_cache_mode')).to.equal('force_generic_plan');
    expect(await setting({ planOnce: true }, 'enable_seqscan')).to.equal('off');
  });
});
