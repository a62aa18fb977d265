import { expect } from 'chai';
import { ConfigError, loadConfig } from '@order-service/shared';
import { ApiEnv } from '../src/config';

describe('ApiEnv', () => {
  it('has the contract defaults when nothing is set', () => {
    expect(loadConfig(ApiEnv, {})).to.deep.equal({
      DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/orders',
      RABBITMQ_URL: 'amqp://guest:guest@127.0.0.1:5672',
      REDIS_URL: 'redis://127.0.0.1:6379/0',
      LOG_LEVEL: 'info',
      DB_POOL_MAX: 20,
      PORT: 8000,
      API_RATE_LIMIT_ENABLED: true,
      API_RATE_LIMIT_MAX: 5,
      API_RATE_LIMIT_WINDOW_MS: 60_000,
      API_TRUST_PROXY_HOPS: 0,
      API_CACHE_TTL_SECONDS: 60,
      API_IDEMPOTENCY_RETENTION_HOURS: 24,
      API_IDEMPOTENCY_PRUNE_INTERVAL_MS: 600_000,
      REDIS_COMMAND_TIMEOUT_MS: 200,
      API_REQUEST_TIMEOUT_MS: 10_000,
    });
  });

  it('reads API_OPS_PORT only when set, and refuses a bad one', () => {
    expect(loadConfig(ApiEnv, {})).not.to.have.property('API_OPS_PORT');
    expect(loadConfig(ApiEnv, { API_OPS_PORT: '9100', API_REQUEST_TIMEOUT_MS: '5000' })).to.include({
      API_OPS_PORT: 9100,
      API_REQUEST_TIMEOUT_MS: 5_000,
    });
    for (const bad of ['', 'abc', '70000']) expect(() => loadConfig(ApiEnv, { API_OPS_PORT: bad }), bad).to.throw(ConfigError, /API_OPS_PORT/);
  });


  it('reads every variable, typed', () => {
    const config = loadConfig(ApiEnv, {
      PORT: '0',
      API_RATE_LIMIT_ENABLED: 'false',
      API_RATE_LIMIT_MAX: '100',
      API_TRUST_PROXY_HOPS: '2',
      DATABASE_URL: 'postgresql://user@db:5432/orders',
      UNRELATED: 'ignored',
    });
    expect(config).to.include({ PORT: 0, API_RATE_LIMIT_ENABLED: false, API_RATE_LIMIT_MAX: 100, API_TRUST_PROXY_HOPS: 2 });
    expect(config).not.to.have.property('UNRELATED');
    expect(Object.isFrozen(config)).to.equal(true);
  });

  it('fails naming every bad variable at once', () => {
    const env = {
      PORT: 'abc',
      DATABASE_URL: 'nope',
      REDIS_URL: 'http://127.0.0.1:6379',
      API_RATE_LIMIT_ENABLED: 'yes',
      API_TRUST_PROXY_HOPS: '11',
      LOG_LEVEL: 'loud',
    };
    try {
      loadConfig(ApiEnv, env);
      expect.fail('expected a ConfigError');
    } catch (error) {
      expect(error).to.be.instanceOf(ConfigError);
      const named = (error as ConfigError).problems.map((problem) => problem.split(' ')[0]);
      expect(new Set(named)).to.deep.equal(new Set(Object.keys(env)));
      for (const name of Object.keys(env)) expect((error as Error).message).to.include(name);
    }
  });
});
