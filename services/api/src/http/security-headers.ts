import type { RequestHandler } from 'express';
import helmet, { type HelmetOptions } from 'helmet';

/**
 * helmet's headers, worked out once: with options that compute nothing per request (no nonce
 * functions), helmet sets the same headers on every response, through a chain of a dozen
 * middlewares that the cached GET measurably paid for. This asks helmet once, with a response
 * that only records, and then sets the recorded headers, in one middleware.
 */
export function securityHeaders(options?: HelmetOptions): RequestHandler {
  const headers = new Map<string, string>();
  const recorder = {
    setHeader(name: string, value: string) {
      headers.set(name, value);
    },
    removeHeader(name: string) {
      headers.delete(name);
    },
  };
  let failure: unknown;
  helmet(options)({} as never, recorder as never, (error?: unknown) => {
    failure = error;
  });
  if (failure !== undefined) throw failure;
  // Set one by one from two arrays: `res.setHeaders(map)` also makes an entry array for every header it iterates over.
  const names = [...headers.keys()];
  const values = [...headers.values()];
  return (_req, res, next) => {
    for (let i = 0; i < names.length; i++) res.setHeader(names[i]!, values[i]!);
    next();
  };
}
