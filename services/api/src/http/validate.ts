import type { Request } from 'express';
import * as v from 'valibot';
import { BadRequest, ValidationFailed, type InvalidParam } from '@order-service/shared';

/** The dotted path of a valibot issue: `items[2].quantity`. */
function issuePath(issue: v.BaseIssue<unknown>): string {
  let path = '';
  for (const item of issue.path ?? []) {
    path += typeof item.key === 'number' ? `[${item.key}]` : path === '' ? String(item.key) : `.${String(item.key)}`;
  }
  return path || '(body)';
}

/** Validates a request body, throwing 422 with every invalid field. */
export function parseBody<TSchema extends v.GenericSchema>(schema: TSchema, body: unknown): v.InferOutput<TSchema> {
  const result = v.safeParse(schema, body);
  if (result.success) return result.output;
  const invalid: InvalidParam[] = result.issues.map((issue) => ({ name: issuePath(issue), reason: issue.message }));
  throw new ValidationFailed('The request body is invalid.', invalid);
}

/** Validates path parameters, throwing 400: a malformed id is a malformed request, not a missing order. */
export function parseParams<TSchema extends v.GenericSchema>(schema: TSchema, params: unknown): v.InferOutput<TSchema> {
  const result = v.safeParse(schema, params);
  if (result.success) return result.output;
  throw new BadRequest(result.issues.map((issue) => `${issuePath(issue)} ${issue.message}`).join('; '));
}

/**
 * Validates the request headers an object schema names (matched case-insensitively), throwing 400
 * as for path parameters. A header that is not sent is `undefined`, so optional ones may be absent.
 */
export function parseHeaders<TEntries extends v.ObjectEntries>(schema: v.ObjectSchema<TEntries, undefined>, req: Request) {
  return parseParams(schema, Object.fromEntries(Object.keys(schema.entries).map((name) => [name, req.get(name)])));
}
