import { expect } from 'chai';
import * as v from 'valibot';
import { CommonEnv, ConfigError, envBool, envInt, envNumber, envPort, envUrl, loadConfig, splitList } from '../src/config';

/** The problems loadConfig reports for `env`, or an empty list when it loads. */
function problems(schema: v.GenericSchema<Record<string, unknown>, object>, env: Record<string, string | undefined>): string[] {
  try {
    loadConfig(schema, env);
    return [];
  } catch (error) {
    expect(error).to.be.instanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
}

describe('loadConfig', () => {
  const Schema = v.object({
    ...CommonEnv,
    SERVICE_NAME: v.pipe(v.string('is required'), v.minLength(1)),
    PORT: envPort(9000),
    RATIO: envNumber(0.5, 0, 1),
    ENABLED: envBool(false),
  });

  it('applies defaults and converts types', () => {
    const config = loadConfig(Schema, { SERVICE_NAME: 'x', RATIO: '0.25', ENABLED: '1' });
    expect(config).to.include({ PORT: 9000, RATIO: 0.25, ENABLED: true, LOG_LEVEL: 'info', DB_POOL_MAX: 10 });
    expect(config.DATABASE_URL).to.equal('postgres://postgres@127.0.0.1:5432/orders');
  });

  it('returns a frozen object', () => {
    const config = loadConfig(Schema, { SERVICE_NAME: 'x' });
    expect(Object.isFrozen(config)).to.equal(true);
  });

  it('names every bad or missing variable in one error, with what it got', () => {
    const found = problems(Schema, {
      PORT: 'abc',
      DATABASE_URL: 'nope',
      RABBITMQ_URL: 'http://broker',
      LOG_LEVEL: 'loud',
      DB_POOL_MAX: '0',
      RATIO: '2',
      ENABLED: 'yes',
    });
    const named = found.map((problem) => problem.split(' ')[0]);
    expect(new Set(named)).to.deep.equal(
      new Set(['PORT', 'DATABASE_URL', 'RABBITMQ_URL', 'LOG_LEVEL', 'DB_POOL_MAX', 'RATIO', 'ENABLED', 'SERVICE_NAME']),
    );
    expect(found.find((p) => p.startsWith('SERVICE_NAME'))).to.include('missing');
    expect(found.find((p) => p.startsWith('PORT'))).to.include('"abc"');
    expect(found.find((p) => p.startsWith('RABBITMQ_URL'))).to.include('amqp://');
  });

  it('puts every problem in the message, one per line', () => {
    try {
      loadConfig(Schema, { PORT: '70000', SERVICE_NAME: '' });
      expect.fail('expected a ConfigError');
    } catch (error) {
      const [heading, ...lines] = (error as Error).message.split('\n');
      expect(heading).to.equal('Invalid configuration:');
      expect(lines).to.have.length(2);
      expect(lines.map((line) => /^ {2}- (\w+) /.exec(line)?.[1]).sort()).to.deep.equal(['PORT', 'SERVICE_NAME']);
    }
  });
});

describe('environment building blocks', () => {
  const load = <T extends v.GenericSchema>(schema: T, value: string | undefined) =>
    v.safeParse(v.object({ X: schema }), value === undefined ? {} : { X: value });

  it('envInt takes integers within its bounds only', () => {
    expect(load(envInt(5, 1, 10), '10').output).to.deep.equal({ X: 10 });
    expect(load(envInt(5, 1, 10), undefined).output).to.deep.equal({ X: 5 });
    for (const bad of ['0', '11', '1.5', '', 'ten', '0x10', '1e2']) expect(load(envInt(5, 1, 10), bad).success, bad).to.equal(false);
  });

  it('envPort takes 0..65535 (0 lets the OS choose)', () => {
    expect(load(envPort(80), '0').output).to.deep.equal({ X: 0 });
    expect(load(envPort(80), '65536').success).to.equal(false);
  });

  it('envBool takes true/false/1/0 only', () => {
    expect(load(envBool(true), 'false').output).to.deep.equal({ X: false });
    expect(load(envBool(true), '0').output).to.deep.equal({ X: false });
    expect(load(envBool(false), 'true').output).to.deep.equal({ X: true });
    for (const bad of ['yes', 'TRUE', '', 'on']) expect(load(envBool(true), bad).success, bad).to.equal(false);
  });

  it('envUrl takes URLs of its schemes only', () => {
    const url = envUrl('redis://localhost', ['redis', 'rediss']);
    expect(load(url, 'rediss://cache:6380/2').success).to.equal(true);
    for (const bad of ['http://cache', 'cache:6379', 'redis']) expect(load(url, bad).success, bad).to.equal(false);
  });
});

describe('RABBITMQ_URL', () => {
  const Schema = v.object({ RABBITMQ_URL: CommonEnv.RABBITMQ_URL });
  const load = (value: string) => splitList(loadConfig(Schema, { RABBITMQ_URL: value }).RABBITMQ_URL);

  it('is one URL by default, as before', () => {
    expect(loadConfig(Schema, {}).RABBITMQ_URL).to.equal('amqp://guest:guest@127.0.0.1:5672');
  });

  it('takes the comma-separated nodes of one cluster, trimmed', () => {
    expect(load(' amqp://u:p@rabbit-1:5672/orders , amqp://u:p@rabbit-2:5673/orders,amqp://u:p@rabbit-3/orders ,')).to.deep.equal([
      'amqp://u:p@rabbit-1:5672/orders',
      'amqp://u:p@rabbit-2:5673/orders',
      'amqp://u:p@rabbit-3/orders',
    ]);
  });

  it('names the entry that is not an amqp URL', () => {
    const found = problems(Schema, { RABBITMQ_URL: 'amqp://a:5672,http://b:5672' });
    expect(found).to.have.length(1);
    expect(found[0]).to.match(/^RABBITMQ_URL entry 2 must start with amqp:\/\/ or amqps:\/\//);
    expect(problems(Schema, { RABBITMQ_URL: 'amqp://a,not a url' })[0]).to.include('entry 2 must be a URL');
  });

  it('refuses nodes whose credentials, vhost or scheme differ: one connection fails over between them', () => {
    for (const other of ['amqp://guest:other@b:5672/v', 'amqp://admin:guest@b:5672/v', 'amqp://guest:guest@b:5672/w', 'amqps://guest:guest@b:5671/v']) {
      const found = problems(Schema, { RABBITMQ_URL: `amqp://guest:guest@a:5672/v,${other}` });
      expect(found, other).to.have.length(1);
      expect(found[0], other).to.include('entry 2 must have the same scheme, credentials, vhost and options as entry 1');
    }
  });

  it('refuses an empty list and IPv6 literals in a list', () => {
    expect(problems(Schema, { RABBITMQ_URL: ' , ' })[0]).to.include('must be an amqp:// or amqps:// URL');
    expect(problems(Schema, { RABBITMQ_URL: 'amqp://[::1]:5672,amqp://b:5672' })[0]).to.include('entry 1 must name its host');
    expect(load('amqp://[::1]:5672')).to.deep.equal(['amqp://[::1]:5672']);
  });
});
