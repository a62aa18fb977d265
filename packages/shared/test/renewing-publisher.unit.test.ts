import { expect } from 'chai';
import type { Connection } from 'rabbitmq-client';
import { createRenewingPublisher } from '../src/renewing-publisher';

/** A connection whose publishers answer each send as `answer` says, and record what happened. */
function fakeConnection(answer: (channel: number) => Promise<void>) {
  const channels: Array<{ sends: number; closed: boolean }> = [];
  const connection = {
    createPublisher() {
      const index = channels.length;
      const channel = { sends: 0, closed: false };
      channels.push(channel);
      return {
        send: () => {
          channel.sends += 1;
          return answer(index);
        },
        close: async () => {
          channel.closed = true;
        },
      };
    },
  } as unknown as Connection;
  return { connection, channels };
}

const nack = () => Promise.reject(Object.assign(new Error('message rejected by server'), { code: 'NACK' }));

describe('createRenewingPublisher', () => {
  it('keeps its channel while the broker confirms', async () => {
    const { connection, channels } = fakeConnection(async () => {});
    const publisher = createRenewingPublisher(connection, { confirm: true });
    for (let i = 0; i < 5; i++) await publisher.send({ routingKey: 'q' }, 'x');
    expect(channels).to.deep.equal([{ sends: 5, closed: false }]);
  });

  it('after a nack, sends on a new channel and closes the old one', async () => {
    const { connection, channels } = fakeConnection((channel) => (channel === 0 ? nack() : Promise.resolve()));
    const publisher = createRenewingPublisher(connection, { confirm: true });
    await publisher.send({ routingKey: 'q' }, 'x').then(
      () => expect.fail('a nack must fail the send'),
      (error: { code?: string }) => expect(error.code).to.equal('NACK'),
    );
    await publisher.send({ routingKey: 'q' }, 'x');
    expect(channels).to.deep.equal([
      { sends: 1, closed: true },
      { sends: 1, closed: false },
    ]);
  });

  it('closes a renewed channel only once the sends still on it have settled', async () => {
    let confirmLate!: () => void;
    const late = new Promise<void>((resolve) => (confirmLate = resolve));
    const { connection, channels } = fakeConnection((channel) => (channel === 0 ? late : Promise.resolve()));
    const publisher = createRenewingPublisher(connection, { confirm: true });
    const pending = publisher.send({ routingKey: 'q' }, 'x');
    publisher.renew();
    await publisher.send({ routingKey: 'q' }, 'x');
    expect(channels[0]!.closed, 'closed with a send in flight').to.equal(false);
    confirmLate();
    await pending;
    expect(channels.map((channel) => channel.closed)).to.deep.equal([true, false]);
  });

  it('does not renew on other failures (the client reopens a closed channel by itself)', async () => {
    const { connection, channels } = fakeConnection(() => Promise.reject(new Error('channel closed')));
    const publisher = createRenewingPublisher(connection, { confirm: true });
    await publisher.send({ routingKey: 'q' }, 'x').catch(() => {});
    await publisher.send({ routingKey: 'q' }, 'x').catch(() => {});
    expect(channels).to.have.length(1);
    await publisher.close();
    expect(channels[0]!.closed).to.equal(true);
  });
});
