import { expect } from 'chai';
import { AMQP_CLIENT_OPTIONS, amqpConnectionOptions } from '../src/amqp';

describe('amqpConnectionOptions', () => {
  it('passes a single URL on as it is, with the client options', () => {
    expect(amqpConnectionOptions(['amqp://guest:guest@127.0.0.1:5672/v'])).to.deep.equal({
      ...AMQP_CLIENT_OPTIONS,
      url: 'amqp://guest:guest@127.0.0.1:5672/v',
    });
  });

  it('turns the nodes of a cluster into hosts, with credentials and vhost from the URL', () => {
    const options = amqpConnectionOptions(['amqp://u:p@rabbit-1:5672/orders', 'amqp://u:p@rabbit-2:5673/orders', 'amqp://u:p@rabbit-3/orders']);
    expect(options).to.deep.include({ ...AMQP_CLIENT_OPTIONS, url: 'amqp://u:p@rabbit-1:5672/orders' });
    expect(options.hosts).to.deep.equal(['rabbit-1:5672', 'rabbit-2:5673', 'rabbit-3:5672']);
  });

  it('takes the comma-separated text too, and defaults amqps nodes to 5671', () => {
    expect(amqpConnectionOptions('amqps://u:p@a/v, amqps://u:p@b:6000/v').hosts).to.deep.equal(['a:5671', 'b:6000']);
  });

  it('refuses an empty list', () => {
    expect(() => amqpConnectionOptions([])).to.throw('no RabbitMQ URL');
  });
});
