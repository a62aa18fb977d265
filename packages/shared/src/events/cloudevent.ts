import { randomUUID } from 'node:crypto';
import * as v from 'valibot';

/**
 * A UUID, normalised to the lower case Postgres prints. UUIDs are case-insensitive, and ids are
 * compared as strings in memory (batching, maps, cache keys), so they are normalised once, here.
 */
export const Uuid = v.pipe(v.string(), v.uuid('must be a UUID'), v.toLowerCase());

/** Money on the wire: a JSON number with at most 2 decimals. */
export const Money = v.pipe(
  v.number(),
  v.finite(),
  v.minValue(0),
  v.check((n) => Math.abs(Math.round(n * 100) - n * 100) < 1e-6, 'must have at most 2 decimals'),
);

/**
 * A CloudEvents 1.0 envelope in structured JSON mode, with its `type` and `data` fixed.
 * The same schema is used to write an event and to check it on arrival.
 */
export function cloudEvent<const TType extends string, TData extends v.GenericSchema>(type: TType, data: TData) {
  return v.object({
    specversion: v.literal('1.0'),
    id: Uuid,
    source: v.pipe(v.string(), v.minLength(1), v.maxLength(1_000)),
    type: v.literal(type),
    time: v.pipe(v.string(), v.isoTimestamp('must be an ISO 8601 timestamp')),
    datacontenttype: v.literal('application/json'),
    data,
  });
}

/** A CloudEvents 1.0 envelope in structured JSON mode, typed by the schema that checks it. */
export type CloudEvent<TType extends string, TData> = v.InferOutput<ReturnType<typeof cloudEvent<TType, v.GenericSchema<unknown, TData>>>>;

/** What the writer of an event chooses; the id is fresh and the time is now unless given. */
export interface CloudEventFields<TType extends string, TData> {
  type: TType;
  source: string;
  data: TData;
  id?: string;
  time?: string;
}

/**
 * Builds the envelope every writer of an event sends. The fields come in the contract's order, so
 * the serialised event reads the same wherever it was built.
 */
export function cloudEventOf<const TType extends string, TData>(fields: CloudEventFields<TType, TData>): CloudEvent<TType, TData> {
  const { type, source, data, id = randomUUID(), time = new Date().toISOString() } = fields;
  return { specversion: '1.0', id, source, type, time, datacontenttype: 'application/json', data };
}
