import { expect } from 'chai';
import { createConfig, lintFromString } from '@redocly/openapi-core';
import { Validator } from '@seriousme/openapi-schema-validator';
import * as v from 'valibot';
import { CURRENCY } from '@order-service/shared';
import { openApiDocument, parametersOf } from '../src/http/openapi';
import { MAX_IDEMPOTENCY_KEY_LENGTH } from '../src/orders/order-schemas';

type Json = Record<string, unknown>;
const document = openApiDocument();
const operations = Object.entries(document.paths).flatMap(([path, item]) =>
  Object.entries(item as Record<string, Json>).map(([method, operation]) => ({ path, method, operation })),
);

/** Every schema object in a JSON value, with the property name it sits under. */
function* propertySchemas(value: unknown, name = ''): Generator<{ name: string; schema: Json }> {
  if (Array.isArray(value)) for (const item of value) yield* propertySchemas(item, name);
  else if (typeof value === 'object' && value !== null) {
    const object = value as Json;
    if (typeof object.type === 'string') yield { name, schema: object };
    for (const [key, child] of Object.entries(object)) {
      const properties = key === 'properties' ? Object.entries(child as Json) : [];
      for (const [property, schema] of properties) yield* propertySchemas(schema, property);
      if (key !== 'properties') yield* propertySchemas(child, name);
    }
  }
}

describe('api: the OpenAPI document', () => {
  it('is a valid OpenAPI 3.1 document (@seriousme/openapi-schema-validator)', async () => {
    const result = await new Validator().validate(structuredClone(document) as never);
    expect(result.errors ?? [], JSON.stringify(result.errors, null, 2)).to.deep.equal([]);
    expect(result.valid).to.equal(true);
  });

  it("passes Redocly's recommended ruleset with no error and no warning", async () => {
    const config = await createConfig({ extends: ['recommended'] });
    const problems = await lintFromString({ source: JSON.stringify(document), absoluteRef: '/openapi.json', config });
    expect(problems.map((p) => `${p.severity} ${p.ruleId}: ${p.message} at ${p.location[0]?.pointer}`)).to.deep.equal([]);
  });

  it('declares servers, a license, no security requirement (and says so), and a unique operationId per operation', () => {
    expect(document.servers).to.have.length.greaterThan(0);
    expect(document.security).to.deep.equal([]);
    expect(document.info.description).to.include('security: []').and.include('No authentication');
    expect(document.info.license.name).to.be.a('string').and.not.equal('');
    const ids = operations.map(({ operation }) => operation.operationId);
    for (const id of ids) expect(id).to.be.a('string').and.match(/^[a-zA-Z]+$/);
    expect(new Set(ids).size).to.equal(ids.length);
  });

  it('builds each parameter from the valibot schema that validates it: name, place, required, schema and description', () => {
    const Example = v.object({
      'X-Required': v.pipe(v.string(), v.maxLength(9), v.description('needed')),
      'X-Optional': v.optional(v.pipe(v.string(), v.uuid())),
    });
    expect(parametersOf(Example, 'header')).to.deep.equal([
      { name: 'X-Required', in: 'header', required: true, description: 'needed', schema: { type: 'string', maxLength: 9 } },
      { name: 'X-Optional', in: 'header', required: false, schema: { type: 'string', format: 'uuid' } },
    ]);
    // A path parameter is always required, whatever the schema says.
    expect(parametersOf(v.object({ id: v.optional(v.string()) }), 'path')).to.deep.equal([{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }]);

    const post = document.paths['/api/orders'].post as unknown as { parameters: Array<{ name: string; schema: Json }> };
    expect(post.parameters.find((p) => p.name === 'Idempotency-Key')?.schema).to.deep.equal({
      type: 'string',
      minLength: 1,
      maxLength: MAX_IDEMPOTENCY_KEY_LENGTH,
    });
  });

  it(`describes every amount of money as a number with at most 2 decimals in ${CURRENCY}`, () => {
    const money = [...propertySchemas(document.components.schemas)].filter(({ name }) => ['price', 'total_amount', 'amount'].includes(name));
    expect(money.map(({ name }) => name)).to.include.members(['price', 'total_amount']);
    for (const { name, schema } of money) {
      expect(schema.type, name).to.equal('number');
      expect(schema.minimum, name).to.equal(0);
      expect(schema.description, name).to.include(CURRENCY).and.include('at most 2 decimals');
    }
    expect(document.info.description).to.include(`in ${CURRENCY}`);
  });

  it('documents the headers a client meets, each defined once and used', () => {
    const text = JSON.stringify(document.paths);
    for (const header of ['RateLimit', 'RateLimit-Policy', 'Retry-After', 'Location', 'Idempotent-Replayed', 'ETag']) {
      expect(document.components.headers, header).to.have.property(header);
      expect(text + JSON.stringify(document.components.responses), header).to.include(`#/components/headers/${header}"`);
    }
    for (const { path, method, operation } of operations.filter((o) => o.method === 'get' && o.path.startsWith('/api/'))) {
      const responses = operation.responses as Record<string, { headers?: Json }>;
      expect(responses['304']?.headers, `${method} ${path} 304`).to.have.property('ETag');
      expect(responses['200']?.headers, `${method} ${path} 200`).to.have.property('ETag');
      expect(JSON.stringify(operation.parameters), `${method} ${path}`).to.include('If-None-Match');
    }
  });
});
