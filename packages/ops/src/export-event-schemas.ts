/**
 * Writes the JSON Schemas of the events (docs/schemas/*.schema.json) from the valibot schemas the
 * services validate with, and embeds them in docs/events.md between its schema markers.
 *
 *   tsx packages/ops/src/export-event-schemas.ts           rewrite the files
 *   tsx packages/ops/src/export-event-schemas.ts --check   exit 1 when a file is stale
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { toJsonSchema } from '@valibot/to-json-schema';
import type { GenericSchema } from 'valibot';
import { Money, OrderCreated, PaymentProcessed, Topology, writeGeneratedFiles } from '@order-service/shared';

/** The custom "at most 2 decimals" check inside the Money schema. */
const MONEY_CHECKS = new Set<unknown>(Money.pipe.filter((action) => action.type === 'check'));

export const DOCS_DIR = fileURLToPath(new URL('../../../docs', import.meta.url));

export const EVENTS = [
  {
    name: 'OrderCreated',
    file: 'order-created.schema.json',
    schema: OrderCreated,
    description: `Emitted once per order through the outbox, on exchange \`${Topology.ordersExchange}\` with routing key \`${Topology.orderCreatedKey}\`.`,
  },
  {
    name: 'PaymentProcessed',
    file: 'payment-processed.schema.json',
    schema: PaymentProcessed,
    description: `Published by the payment side on exchange \`${Topology.paymentsExchange}\` with routing key \`${Topology.paymentProcessedKey}\`; applied by the consumer.`,
  },
] as const;

/** The JSON Schema (draft 2020-12) of one event, as committed to docs/schemas. */
export function eventJsonSchema(event: { name: string; file: string; schema: GenericSchema; description: string }): Record<string, unknown> {
  const converted = toJsonSchema(event.schema, {
    target: 'draft-2020-12',
    // The "at most 2 decimals" rule of Money is a custom check JSON Schema cannot express
    // exactly (multipleOf 0.01 misfires on binary floats), so it is stated in a description.
    errorMode: 'ignore',
    overrideAction: ({ valibotAction, jsonSchema }) =>
      MONEY_CHECKS.has(valibotAction) ? { ...jsonSchema, description: 'An amount of money: a JSON number with at most 2 decimals.' } : undefined,
  });
  const { $schema, ...rest } = converted;
  return {
    $schema,
    $id: `https://order-service.dev/schemas/${event.file}`,
    title: event.name,
    description: `A CloudEvents 1.0 event in structured JSON mode. ${event.description}`,
    ...rest,
  };
}

const schemaText = (event: (typeof EVENTS)[number]) => `${JSON.stringify(eventJsonSchema(event), null, 2)}\n`;

/** Replaces the block between `<!-- schema:Name -->` and `<!-- /schema:Name -->` in events.md. */
export function embedSchemas(markdown: string): string {
  let result = markdown;
  for (const event of EVENTS) {
    const begin = `<!-- schema:${event.name} -->`;
    const end = `<!-- /schema:${event.name} -->`;
    const from = result.indexOf(begin);
    const to = result.indexOf(end);
    if (from < 0 || to < from) throw new Error(`docs/events.md lacks the markers ${begin} … ${end}`);
    const block = `${begin}\n\`\`\`json\n${schemaText(event)}\`\`\`\n${end}`;
    result = result.slice(0, from) + block + result.slice(to + end.length);
  }
  return result;
}

/** Writes (or, with `check`, only compares) every generated file; returns the stale ones. */
export async function exportEventSchemas({ check = false, docsDir = DOCS_DIR } = {}): Promise<string[]> {
  const wanted = new Map<string, string>();
  for (const event of EVENTS) wanted.set(`${docsDir}/schemas/${event.file}`, schemaText(event));
  const eventsMd = `${docsDir}/events.md`;
  wanted.set(eventsMd, embedSchemas(await readFile(eventsMd, 'utf8')));
  return writeGeneratedFiles(wanted, { check });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const check = process.argv.includes('--check');
  const stale = await exportEventSchemas({ check });
  for (const path of stale) process.stdout.write(`${check ? 'stale' : 'wrote'}: ${path}\n`);
  if (check && stale.length > 0) process.stdout.write('Run: tsx packages/ops/src/export-event-schemas.ts\n');
  process.exitCode = check && stale.length > 0 ? 1 : 0;
}
