import { expect } from 'chai';
import * as v from 'valibot';
import { CommonEnv, ConfigError, envBool, envInt, envNumber, envPort, envUrl, loadConfig } from '../src/config';

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
