import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import type { AsyncMessage } from 'rabbitmq-client';
import { waitFor } from '@order-service/testkit';
import { consumerMetric, paymentFor, startPaymentSide, type PaymentSide } from './support/payments';
import { report, scenario, sharedSystem } from './support/scenario';
import type { FaultSystem } from './support/system';
import { placeOrders } from './support/traffic';

describe('faults: hostile messages to the consumer', () => {
  let system: FaultSystem;
  let payments: PaymentSide;
  before(async () => {
    system = await sharedSystem();
    payments = await startPaymentSide(system);
  });
  after(async () => {
    await payments?.close();
  });

  /**
   * Orders placed through the API with the payment simulator stopped, so that only this test pays
   * them. The simulator is started again when the scenario ends, and pays what is left PENDING.
   */
  async function unpaidOrders(count: number) {
    await system.stop('simulator');
    const ids = await placeOrders(system, count);
    return system.database.db.selectFrom('orders').select(['order_id', 'total_amount']).where('order_id', 'in', ids).execute();
  }
  const history = (orderId: string) => system.database.db.selectFrom('order_status_history').selectAll().where('order_id', '=', orderId).execute();
  const inbox = (orderId: string) => system.database.db.selectFrom('processed_events').selectAll().where('order_id', '=', orderId).execute();
  const status = async (orderId: string) =>
    (await system.database.db.selectFrom('orders').select('status').where('order_id', '=', orderId).executeTakeFirstOrThrow()).status;

  /** The consumer is the process it was, and ready. */
  async function stillUp(pid: number | undefined) {
    expect(system.processes.consumer?.child.pid, 'the same consumer process').to.equal(pid);
    expect(system.processes.consumer?.running, 'the consumer is alive').to.equal(true);
    const ready = await fetch(`http://127.0.0.1:${system.processes.consumer!.port}/readyz`);
    expect(ready.status, 'the consumer is ready').to.equal(200);
  }

  it('ids that differ only in letter case are one event, applied once, and the metrics say so', async () => {
    await scenario(system, 'hostile-id-case', async () => {
      const [twice, ...upper] = await unpaidOrders(11);
      await system.stop('consumer');
      // Queued while the consumer is down, so that they arrive together and are batched together.
      const first = paymentFor(twice!, 'SUCCEEDED');
      const flipped = first.id.replace(/[a-f]/, (letter) => letter.toUpperCase());
      expect(flipped).to.not.equal(first.id);
      await payments.publish(first);
      await payments.publish({ ...paymentFor(twice!, 'FAILED'), id: flipped });
      for (const order of upper) {
        const event = paymentFor(order);
        await payments.publish({ ...event, id: event.id.toUpperCase(), data: { ...event.data, order_id: order.order_id.toUpperCase() } });
      }
      await system.start('consumer');

      const all = [twice!, ...upper].map((order) => order.order_id);
      await waitFor(async () => (await consumerMetric(system, 'consumer_events_total{outcome="duplicate"}')) >= 1, {
        what: 'the second spelling to be seen as a duplicate',
      });
      await waitFor(async () => (await Promise.all(all.map(status))).every((s) => s !== 'PENDING'), { what: 'every order paid' });
      expect(await history(twice!.order_id), 'one transition out of PENDING').to.have.length(1);
      expect(await inbox(twice!.order_id), 'one inbox row').to.have.length(1);
      expect(await status(twice!.order_id)).to.equal('PROCESSING');
      expect(await consumerMetric(system, 'consumer_events_total{outcome="applied"}'), 'applied').to.equal(11);
      expect(await consumerMetric(system, 'consumer_events_total{outcome="duplicate"}'), 'duplicates').to.equal(1);
      for (const order of upper) expect(await status(order.order_id)).to.equal('PROCESSING');
    });
  });

  it('every poison message is dead-lettered on its first delivery, with its reason and its original bytes', async () => {
    await scenario(system, 'hostile-poison', async () => {
      const [order] = await unpaidOrders(1);
      const pid = system.processes.consumer?.child.pid;
      const valid = paymentFor(order!);
      const nested = (levels: number) => Buffer.from(`${'['.repeat(levels)}0${']'.repeat(levels)}`);
      const manyHeaders = Object.fromEntries(Array.from({ length: 3_000 }, (_, i) => [`x-junk-${i}`, `value-${i}`]));
      const poison: Array<{ what: string; body: Buffer; headers?: Record<string, unknown>; code: string; reason: RegExp }> = [
        { what: 'U+0000 in reason', body: json({ ...valid, id: randomUUID(), data: { ...valid.data, status: 'FAILED', reason: 'declined\u0000' } }), code: 'invalid-message', reason: /data\.reason/ },
        { what: 'U+0000 in payment_id', body: json({ ...valid, id: randomUUID(), data: { ...valid.data, payment_id: 'pay\u0000' } }), code: 'invalid-message', reason: /data\.payment_id/ },
        { what: 'a lone surrogate in reason', body: json({ ...valid, id: randomUUID(), data: { ...valid.data, status: 'FAILED', reason: 'x\ud800' } }), code: 'invalid-message', reason: /data\.reason/ },
        { what: 'a 20 MiB body', body: Buffer.from(`{"pad":"${'x'.repeat(20 * 1024 * 1024)}"}`), code: 'too-large', reason: /CONSUMER_MAX_BODY_BYTES/ },
        { what: '3,000 headers', body: json({ ...valid, id: randomUUID() }), headers: manyHeaders, code: 'headers-too-large', reason: /^3000 headers/ },
        { what: 'nested 100,000 levels (200 KB)', body: nested(100_000), code: 'too-large', reason: /CONSUMER_MAX_BODY_BYTES/ },
        { what: 'nested 30,000 levels (60 KB)', body: nested(30_000), code: 'invalid-message', reason: /^invalid PaymentProcessed/ },
        { what: 'a JSON string holding the event', body: json(JSON.stringify({ ...valid, id: randomUUID() })), code: 'invalid-message', reason: /^invalid PaymentProcessed/ },
        { what: 'odd whitespace, as sent', body: Buffer.from(`  {"specversion" : "0.3"}\n\n`), code: 'invalid-message', reason: /specversion/ },
        { what: 'not UTF-8', body: Buffer.from([0x7b, 0xc3, 0x28, 0x7d]), code: 'invalid-message', reason: /^not UTF-8/ },
        { what: 'an amount that is not the total', body: json({ ...valid, id: randomUUID(), data: { ...valid.data, amount: 0.01 } }), code: 'amount-mismatch', reason: new RegExp(`0\\.01 differs from the order total ${order!.total_amount.replace('.', '\\.')}`) },
      ];
      const counts = async () =>
        Object.fromEntries(await Promise.all(poison.map(async ({ code }) => [code, await consumerMetric(system, `consumer_dead_letters_total{code="${code}"}`)] as const)));
      const before = await counts();

      for (const message of poison) {
        const started = Date.now();
        const id = await payments.publish(message.body, { headers: message.headers });
        const dead: AsyncMessage = await payments.deadLettered(id);
        report(`${message.what}: dead-lettered as ${String(dead.headers?.['x-dead-letter-code'])} in ${Date.now() - started} ms`);
        expect(dead.headers?.['x-dead-letter-code'], message.what).to.equal(message.code);
        expect(dead.headers?.['x-dead-letter-reason'], message.what).to.match(message.reason);
        expect(dead.headers?.['x-dead-letter-attempts'], `${message.what}: on its first delivery`).to.equal(1);
        expect(Buffer.isBuffer(dead.body) && dead.body.equals(message.body), `${message.what}: the DLQ holds the original bytes`).to.equal(true);
        if (message.headers) expect(dead.headers?.['x-dead-letter-dropped-headers'], 'the headers over budget are left out').to.equal(3_000);
        expect(await status(order!.order_id), `${message.what} does not move the order`).to.equal('PENDING');
      }
      const after = await counts();
      for (const code of new Set(poison.map((message) => message.code))) {
        const expected = poison.filter((message) => message.code === code).length;
        expect(after[code]! - before[code]!, `consumer_dead_letters_total{code="${code}"}`).to.equal(expected);
      }
      await stillUp(pid);
      expect(await history(order!.order_id)).to.have.length(0);
      expect(await inbox(order!.order_id)).to.have.length(0);

      // The right payment still applies after all of that.
      await payments.publish(valid);
      await waitFor(async () => (await status(order!.order_id)) === 'PROCESSING', { what: 'the valid payment applied' });
      expect(await history(order!.order_id)).to.have.length(1);
    });
  });

  it('events waiting for an unknown order hold no handler: a valid event behind 200 of them applies within 1 s', async () => {
    await scenario(system, 'hostile-unknown-orders', async () => {
      const [order] = await unpaidOrders(1);
      // As production runs it: the fault system's consumer runs 4 handlers, the default is 32.
      await system.stop('consumer');
      await system.start('consumer', { CONSUMER_CONCURRENCY: '32', CONSUMER_PREFETCH: '64' });
      const unknown = Array.from({ length: 200 }, () => paymentFor({ order_id: randomUUID(), total_amount: '10.00' }));
      const ids = await Promise.all(unknown.map((event) => payments.publish(event)));
      const started = Date.now();
      await payments.publish(paymentFor(order!));
      await waitFor(async () => (await status(order!.order_id)) === 'PROCESSING', { timeoutMs: 10_000, intervalMs: 20, what: 'the valid payment applied' });
      const waited = Date.now() - started;
      report(`the valid event behind 200 unknown-order events applied after ${waited} ms`);
      expect(waited, 'ms until the valid event applied').to.be.below(1_000);

      // After their grace period, every one of them is dead-lettered with its reason, once.
      for (const [index, id] of ids.entries()) {
        const dead = await payments.deadLettered(id, 60_000);
        expect(dead.headers?.['x-dead-letter-code']).to.equal('unknown-order');
        expect((dead.body as Buffer).equals(json(unknown[index])), 'the bytes survive the trips through the retry queue').to.equal(true);
        expect(dead.headers?.['x-original-exchange']).to.equal('payments');
      }
      await system.stop('consumer');
    });
  });
});

function json(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value));
}
