import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import {
  BASE_REDIS_URL,
  createTestDatabase,
  createTestVhost,
  httpRequest,
  runService,
  startService,
  waitFor,
  waitForLockWait,
  type ServiceProcess,
  type TestDatabase,
  type TestVhost,
} from '@order-service/testkit';
import { holdIdempotencyKey } from './support/locks';
import { orderBody } from './support/test-api';

const MAIN = 'services/api/src/main.ts';

describe('api process (tsx services/api/src/main.ts, as pnpm start:api runs it)', function () {
  this.timeout(60_000);
  let database: TestDatabase;
  let vhost: TestVhost;

  before(async () => {
    [database, vhost] = await Promise.all([createTestDatabase('api_e2e'), createTestVhost('api-e2e')]);
  });

  after(async () => {
    await Promise.allSettled([database?.drop(), vhost?.drop()]);
  });

  const env = () => ({
    PORT: '0',
    DATABASE_URL: database.url,
    RABBITMQ_URL: vhost.url,
    REDIS_URL: BASE_REDIS_URL,
    API_RATE_LIMIT_ENABLED: 'false',
  });

  describe('running', () => {
    let api: ServiceProcess;

    before(async () => {
      api = await startService(MAIN, env());
    });

    after(async () => {
      await api?.stop('SIGKILL');
    });

    it('is ready once Postgres, Redis and RabbitMQ answer', async () => {
      // Redis and RabbitMQ connect in the background after start-up, in either order.
      const readiness = await waitFor(
        async () => {
          const response = await httpRequest(`http://127.0.0.1:${api.port}/readyz`);
          const checks = Object.values(response.json<{ checks: Record<string, string> }>().checks);
          return checks.every((check) => check === 'up') ? response : undefined;
        },
        { timeoutMs: 20_000, what: 'readiness with every dependency up' },
      );
      expect(readiness.status).to.equal(200);
      expect(readiness.json()).to.deep.equal({ status: 'ready', checks: { postgres: 'up', redis: 'up', rabbitmq: 'up' } });
    });

    it('on SIGTERM, finishes the request in flight and exits 0', async () => {
      const key = randomUUID();
      const body = orderBody();
      const lock = await holdIdempotencyKey(database.url, body.customer_id, key);
      try {
        const inFlight = httpRequest(`http://127.0.0.1:${api.port}/api/orders`, {
          method: 'POST',
          body,
          headers: { 'idempotency-key': key },
          timeoutMs: 30_000,
        });
        await waitForLockWait(database.db, 'order-service-api');
        api.child.kill('SIGTERM');
        await waitFor(() => api.logs.some((line) => line.msg === 'shutting down'), { what: 'the shutdown to begin' });
        // Intake has stopped: a new connection is refused while the old request still runs.
        await waitFor(
          () => httpRequest(`http://127.0.0.1:${api.port}/healthz`, { timeoutMs: 2_000 }).then(() => false, () => true),
          { what: 'the listener to close' },
        );
        await lock.release();
        const response = await inFlight;
        expect(response.status, response.text).to.equal(201);
        const { order_id } = response.json<{ order_id: string }>();
        expect(await database.db.selectFrom('orders').select('order_id').where('order_id', '=', order_id).executeTakeFirst()).to.deep.equal({
          order_id,
        });
        expect(await api.exited).to.equal(0);
        expect(api.logs.some((line) => line.msg === 'stopped')).to.equal(true);
      } finally {
        await lock.release().catch(() => undefined);
      }
    });
  });

  it('refuses to start with bad settings, exiting 1 with a message naming every bad variable', async () => {
    const result = await runService(MAIN, { ...env(), PORT: 'abc', DATABASE_URL: 'nope', API_RATE_LIMIT_ENABLED: 'maybe' });
    expect(result.code).to.equal(1);
    const message = result.stderr + result.stdout;
    expect(message).to.match(/PORT/).and.to.match(/DATABASE_URL/).and.to.match(/API_RATE_LIMIT_ENABLED/);
    expect(message).to.include('"abc"').and.to.include('"nope"');
    expect(message).not.to.match(/\n\s+at /);
  });
});
