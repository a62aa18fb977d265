import type { RequestHandler } from 'express';
import helmet, { type HelmetOptions } from 'helmet';

/**
 * The headers for the API's own answers, which are JSON, never a page: helmet's that a client of an
 * API acts on (HSTS, nosniff, no framing, no referrer, no cross-origin reads), and a policy that allows nothing
 * (`default-src 'none'; frame-ancestors 'none'`, as the server's refusals send). The six that only a
 * document in a browser window uses (Cross-Origin-Opener-Policy, Origin-Agent-Cluster,
 * X-DNS-Prefetch-Control, X-Download-Options, X-Permitted-Cross-Domain-Policies, X-XSS-Protection) are
 * left to the one page that runs scripts, /docs, which gets helmet's defaults (the problem types'
 * pages are plain HTML with nothing to load, and keep these). Half the bytes of helmet's defaults,
 * and half the headers for every answer to set and write.
 */
export const API_SECURITY_HEADERS: HelmetOptions = {
  contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
  xFrameOptions: { action: 'deny' },
  crossOriginOpenerPolicy: false,
  originAgentCluster: false,
  xDnsPrefetchControl: false,
  xDownloadOptions: false,
  xPermittedCrossDomainPolicies: false,
  xXssProtection: false,
};

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
