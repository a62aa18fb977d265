import * as v from 'valibot';
import { CommonEnv, intSetting } from '@order-service/shared/config';

/** A comma-separated list of http(s) base URLs; empty means "do not check this process". */
const urlList = (fallback: string) =>
  v.pipe(
    v.optional(v.string(), fallback),
    v.transform((value) =>
      value
        .split(',')
        .map((item) => item.trim().replace(/\/+$/, ''))
        .filter(Boolean),
    ),
    v.check(
      (urls) => urls.every((url) => URL.canParse(url) && /^https?:$/.test(new URL(url).protocol)),
      'must be comma-separated http:// or https:// URLs',
    ),
  );

/**
 * What `pnpm ops` reads from the environment. The connection URLs are the services' own
 * (the same defaults); the OPS_*_URLS name the processes whose /readyz `status` asks. A host name
 * that resolves to several addresses (a scaled Compose service) is checked at every address.
 */
export const OpsEnv = v.object({
  DATABASE_URL: CommonEnv.DATABASE_URL,
  RABBITMQ_URL: CommonEnv.RABBITMQ_URL,
  REDIS_URL: CommonEnv.REDIS_URL,
  OPS_API_URL: v.pipe(urlList('http://127.0.0.1:8000'), v.description('the api whose `/readyz` `status` asks (its ops port, where it has one)')),
  OPS_RELAY_URLS: v.pipe(urlList('http://127.0.0.1:9101'), v.description('comma-separated relay URLs; empty skips the check')),
  OPS_CONSUMER_URLS: v.pipe(urlList('http://127.0.0.1:9102'), v.description('comma-separated consumer URLs; empty skips the check')),
  /** The payment simulator is a demo process, so it is checked only when named. */
  OPS_SIMULATOR_URLS: v.pipe(urlList(''), v.description('the demo simulator, checked only when set')),
  OPS_TIMEOUT_MS: intSetting({ default: 3_000, min: 100, max: 120_000, description: 'deadline for each connection and readiness probe' }),
  OPS_PROGRESS_INTERVAL_MS: intSetting({ default: 1_000, min: 0, max: 3_600_000, description: 'how often long work (a DLQ redrive) writes a progress line to stderr when it is not a terminal; `0`: after every item' }),
});

export type OpsConfig = v.InferOutput<typeof OpsEnv>;
