import { expect } from 'chai';
import { createTestDatabase, type TestDatabase } from '@order-service/testkit';
import { expectProblem } from './support/problem';
import { client, startTestApi, type TestApi } from './support/test-api';

describe('api: /readyz and /metrics under load, and off the public port', () => {
  let database: TestDatabase;
  let api: TestApi;
  let withOpsPort: TestApi;
  /** When each readiness check ran (it runs beside the Postgres check, so it counts those too). */
  const checkedAt: number[] = [];

  before(async () => {
    database = await createTestDatabase('api_readiness');
    api = await startTestApi({
      databaseUrl: database.url,
      optionalChecks: { counted: async () => checkedAt.push(Date.now()) > 0 },
    });
    withOpsPort = await startTestApi({ databaseUrl: database.url, config: { API_OPS_PORT: 0 } });
  });

  after(async () => {
    await api?.close();
    await withOpsPort?.close();
    await database?.drop();
  });

  it('checks its dependencies at most once a second, however many callers ask', async () => {
    const http = client(api.url);
    const started = Date.now();
    checkedAt.length = 0;
    const burst = await Promise.all(Array.from({ length: 50 }, () => http.get('/readyz')));
    for (const response of burst) expect(response.json()).to.deep.equal({ status: 'ready', checks: { postgres: 'up', counted: 'up' } });
    expect(checkedAt, 'one check for 50 concurrent callers').to.have.length(1);
    // Callers one after another for 2.5 s: about three checks, never two within a second.
    while (Date.now() - started < 2_500) expect((await http.get('/readyz')).status).to.equal(200);
    expect(checkedAt.length).to.be.within(2, 3);
    // (The counted check runs a moment after its check begins, so the gaps can look a little shorter.)
    for (let i = 1; i < checkedAt.length; i += 1) expect(checkedAt[i]! - checkedAt[i - 1]!).to.be.at.least(950);
  });

  it('with API_OPS_PORT, the public app answers /readyz and /metrics 404, and /healthz still 200', async () => {
    const http = client(withOpsPort.url);
    for (const path of ['/readyz', '/metrics']) expectProblem(await http.get(path), 404);
    expect((await http.get('/healthz')).status).to.equal(200);
  });
});
