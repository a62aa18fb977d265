import { expect } from 'chai';
import type { Connection } from 'rabbitmq-client';
import { createRenewingConfirmChannel, createRenewingPublisher } from '../src/renewing-publisher';

/**
 * A connection whose channels answer each send as `answer` says (by the channel's index), and record
 * what happened: through rabbitmq-client's publishers (`createPublisher`) or used directly (`acquire`).
 */
function fakeConnection(answer: (channel: number) => Promise<void>) {
  const channels: Array<{ sends: number; closed: boolean; confirming?: boolean }> = [];
  const open = (state: (typeof channels)[number]) => {
    const index = channels.length;
    channels.push(state);
    return {
      send: () => {
        state.sends += 1;
        return answer(index);
      },
      close: async () => {
        state.closed = true;
      },
    };
  };
  const connection = {
    createPublisher: () => open({ sends: 0, closed: false }),
    async acquire() {
      const state = { sends: 0, closed: false, confirming: false };
      const { send, close } = open(state);
      return {
        get active() {
          return !state.closed;
        },
        confirmSelect: async () => {
          state.confirming = true;
        },
        basicPublish: send,
        close,
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

describe('createRenewingConfirmChannel', () => {
  it('publishes on one confirm channel while the broker confirms, and closes it with the publisher', async () => {
    const { connection, channels } = fakeConnection(async () => {});
    const publisher = createRenewingConfirmChannel(connection);
    await Promise.all(Array.from({ length: 5 }, () => publisher.send({ routingKey: 'q' }, Buffer.from('x'))));
    expect(channels).to.deep.equal([{ sends: 5, closed: false, confirming: true }]);
    await publisher.close();
    expect(channels[0]!.closed).to.equal(true);
    await publisher.send({ routingKey: 'q' }, Buffer.from('x')).then(
      () => expect.fail('a closed publisher must not send'),
      (error: { code?: string }) => expect(error.code).to.equal('CLOSED'),
    );
  });

  it('after a nack, publishes on a new channel and closes the old one once its sends settled', async () => {
    const { connection, channels } = fakeConnection((channel) => (channel === 0 ? nack() : Promise.resolve()));
    const publisher = createRenewingConfirmChannel(connection);
    await publisher.send({ routingKey: 'q' }, Buffer.from('x')).catch(() => {});
    await publisher.send({ routingKey: 'q' }, Buffer.from('x'));
    expect(channels.map(({ sends, closed }) => ({ sends, closed }))).to.deep.equal([
      { sends: 1, closed: true },
      { sends: 1, closed: false },
    ]);
  });

  it('opens a channel again when its channel closed (the connection dropped and came back)', async () => {
    const { connection, channels } = fakeConnection(async () => {});
    const publisher = createRenewingConfirmChannel(connection);
    await publisher.send({ routingKey: 'q' }, Buffer.from('x'));
    channels[0]!.closed = true;
    await publisher.send({ routingKey: 'q' }, Buffer.from('x'));
    expect(channels.map(({ sends }) => sends)).to.deep.equal([1, 1]);
  });
});
