import { expect } from 'chai';
import { blockBrokerPublishers, configuredWatermark, rabbitmqctl, unblockBrokerPublishers, withBrokerBlocked } from '../src/index';

const currentWatermark = async () => (await rabbitmqctl('eval', 'vm_memory_monitor:get_vm_memory_high_watermark().')).trim();

/** The configured watermark in the form vm_memory_monitor reports it. */
const asReported = (watermark: string[]) => (watermark[0] === 'absolute' ? `{absolute,${watermark[1]}}` : watermark[0]!);

describe('blocking the broker (testkit/broker-alarm.ts)', () => {
  // Whatever happens below, the broker is never left blocked for its other tenants.
  after(() => unblockBrokerPublishers());

  it('reads the configured watermark, a positive value', async () => {
    const watermark = await configuredWatermark();
    expect(watermark[0] === 'absolute' || Number(watermark[0]) > 0, watermark.join(' ')).to.equal(true);
  });

  it('blocks with a watermark of 0, and puts the configured one back, not the current one', async () => {
    const configured = await configuredWatermark();
    await blockBrokerPublishers();
    expect(Number(await currentWatermark())).to.equal(0);
    // A second block (a scenario inside a scenario) keeps the configured value to restore, not 0.
    await blockBrokerPublishers();
    await unblockBrokerPublishers();
    expect(await currentWatermark()).to.equal(asReported(configured));
  });

  it('lifts the block when what runs during it fails', async () => {
    const configured = await configuredWatermark();
    const outcome = await withBrokerBlocked(async () => {
      expect(Number(await currentWatermark())).to.equal(0);
      throw new Error('the test failed');
    }).then(
      () => 'resolved',
      (error: Error) => error.message,
    );
    expect(outcome).to.equal('the test failed');
    expect(await currentWatermark()).to.equal(asReported(configured));
  });
});
