import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import * as v from 'valibot';
import { OrderCreated, PaymentProcessed } from '@order-service/shared';
import { DOCS_DIR, EVENTS, exportEventSchemas } from '../src/export-event-schemas';

const eventsMd = () => readFileSync(`${DOCS_DIR}/events.md`, 'utf8');

describe('docs/events.md and docs/schemas', () => {
  it('hold the JSON Schemas generated from the current valibot schemas (run export-event-schemas.ts when this fails)', async () => {
    const stale = await exportEventSchemas({ check: true });
    expect(stale, 'stale files: run `tsx packages/ops/src/export-event-schemas.ts`').to.deep.equal([]);
  });

  it('document every event with an example that the services accept', () => {
    const schemas = { OrderCreated, PaymentProcessed } as const;
    for (const event of EVENTS) {
      const match = new RegExp(`<!-- example:${event.name} -->\\s*\`\`\`json\\n([\\s\\S]*?)\`\`\``).exec(eventsMd());
      expect(match, `an example of ${event.name}`).to.not.equal(null);
      const result = v.safeParse(schemas[event.name], JSON.parse(match![1]!));
      expect(result.issues?.map((issue) => `${v.getDotPath(issue)}: ${issue.message}`) ?? [], event.name).to.deep.equal([]);
    }
  });

  it('the generated schemas require what the valibot schemas require', () => {
    /** The keys of an object schema that are not optional. */
    const requiredOf = (schema: v.ObjectSchema<v.ObjectEntries, undefined>) =>
      Object.entries(schema.entries).flatMap(([key, entry]) => (entry.type === 'optional' ? [] : [key]));
    for (const event of EVENTS) {
      const schema = JSON.parse(readFileSync(`${DOCS_DIR}/schemas/${event.file}`, 'utf8')) as {
        title: string;
        required: string[];
        properties: { type: { const: string }; data: { required: string[] } };
      };
      expect(schema.title).to.equal(event.name);
      expect(schema.properties.type.const).to.equal(event.name);
      expect(schema.required, event.name).to.have.members(requiredOf(event.schema));
      expect(schema.required, event.name).to.include.members(['specversion', 'id', 'source', 'type', 'time', 'datacontenttype', 'data']);
      expect(schema.properties.data.required, `${event.name} data`).to.have.members(requiredOf(event.schema.entries.data));
    }
  });
});
