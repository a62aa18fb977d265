import { expect } from 'chai';
import { ConfigError, loadConfig } from '@order-service/shared';
import { RelayEnv, relaySettings } from '../src/config';

describe('RelayEnv', () => {
  it('has a default for every variable', () => {
    const config = loadConfig(RelayEnv, {});
    expect(config.PORT).to.equal(9101);
    expect(config.RELAY_POLL_INTERVAL_MS).to.equal(1_000);
    expect(config.RELAY_CRASH_POINT).to.equal(undefined);
    const settings = relaySettings(config);
    expect(settings.leaseMs).to.be.at.least(2 * settings.publishTimeoutMs);
    expect(settings.retentionMs).to.equal(24 * 3_600_000);
  });

  it('names every bad variable at once', () => {
    const load = () => loadConfig(RelayEnv, { RELAY_BATCH_SIZE: '0', RELAY_POLL_INTERVAL_MS: 'soon', RELAY_CRASH_POINT: 'everywhere' });
    expect(load).to.throw(ConfigError).with.property('problems').that.has.length(3);
    try {
      load();
    } catch (error) {
      const message = (error as Error).message;
      for (const name of ['RELAY_BATCH_SIZE', 'RELAY_POLL_INTERVAL_MS', 'RELAY_CRASH_POINT']) expect(message).to.contain(name);
    }
  });

  it('refuses a lease shorter than two publish timeouts, naming the lease and its value', () => {
    expect(() => loadConfig(RelayEnv, { RELAY_LEASE_MS: '1000', RELAY_PUBLISH_TIMEOUT_MS: '800' })).to.throw(
      ConfigError,
      /RELAY_LEASE_MS must be at least 2 × RELAY_PUBLISH_TIMEOUT_MS \(got "1000"\)/,
    );
  });

  it('accepts the test-only crash points', () => {
    expect(loadConfig(RelayEnv, { RELAY_CRASH_POINT: 'after-confirm' }).RELAY_CRASH_POINT).to.equal('after-confirm');
  });
});
