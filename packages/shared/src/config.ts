import * as v from 'valibot';

/** Thrown at start-up when the environment is invalid; the message names every bad variable. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** An optional URL variable with the given scheme(s) and default. */
export const envUrl = (fallback: string, schemes: string[]) =>
  v.pipe(
    v.optional(v.string(), fallback),
    v.url('must be a URL'),
    v.check(
      (value) => schemes.some((scheme) => value.startsWith(`${scheme}://`)),
      `must start with ${schemes.map((s) => `${s}://`).join(' or ')}`,
    ),
  );

/** An optional integer variable within [min, max]. */
export const envInt = (fallback: number, min: number, max: number) =>
  v.pipe(
    v.optional(v.string(), String(fallback)),
    v.regex(/^-?\d+$/, 'must be an integer'),
    v.transform(Number),
    v.minValue(min, `must be at least ${min}`),
    v.maxValue(max, `must be at most ${max}`),
  );

/** An optional number variable within [min, max]. */
export const envNumber = (fallback: number, min: number, max: number) =>
  v.pipe(
    v.optional(v.string(), String(fallback)),
    v.regex(/^-?\d+(\.\d+)?$/, 'must be a number'),
    v.transform(Number),
    v.minValue(min, `must be at least ${min}`),
    v.maxValue(max, `must be at most ${max}`),
  );

/** An optional boolean variable: true/false/1/0. */
export const envBool = (fallback: boolean) =>
  v.pipe(
    v.optional(v.picklist(['true', 'false', '1', '0'], 'must be true or false'), fallback ? 'true' : 'false'),
    v.transform((value) => value === 'true' || value === '1'),
  );

export const envPort = (fallback: number) => envInt(fallback, 0, 65535);

/** What the settings tables say of a numeric variable: its default, its bounds and its meaning. */
export interface NumericSetting {
  default: number;
  min: number;
  max: number;
  description: string;
}

/** An optional integer variable within [min, max], described for the settings tables. */
export const intSetting = ({ default: fallback, min, max, description }: NumericSetting) =>
  v.pipe(envInt(fallback, min, max), v.description(description));

/** An optional number variable within [min, max], described for the settings tables. */
export const numberSetting = ({ default: fallback, min, max, description }: NumericSetting) =>
  v.pipe(envNumber(fallback, min, max), v.description(description));

/** The entries of a comma-separated list, trimmed, without empty ones. */
export function splitList(text: string): string[] {
  return text
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
}

/** A URL with its host and port left out: what every node of one cluster must share. */
const withoutHost = (url: URL) => `${url.protocol}//${url.username}:${url.password}@${url.pathname}${url.search}`;

/**
 * Why `text` is not a usable list of the nodes of one RabbitMQ cluster, or undefined when it is:
 * each entry an amqp:// or amqps:// URL, and all of them alike but for host and port (the same
 * credentials, vhost and options), since one connection fails over between them.
 */
export function amqpUrlListProblem(text: string): string | undefined {
  const entries = splitList(text);
  if (entries.length === 0) return 'must be an amqp:// or amqps:// URL, or a comma-separated list of them';
  const parsed: URL[] = [];
  for (const [index, entry] of entries.entries()) {
    const where = entries.length > 1 ? `entry ${index + 1} ` : '';
    if (!URL.canParse(entry)) return `${where}must be a URL starting with amqp:// or amqps://`;
    const url = new URL(entry);
    if (url.protocol !== 'amqp:' && url.protocol !== 'amqps:') return `${where}must start with amqp:// or amqps://`;
    // The client takes the nodes of a list as "host:port", which an IPv6 literal cannot be.
    if (entries.length > 1 && url.hostname.startsWith('[')) return `${where}must name its host, not an IPv6 literal, in a list of nodes`;
    parsed.push(url);
  }
  const first = withoutHost(parsed[0]!);
  const other = parsed.findIndex((url) => withoutHost(url) !== first);
  if (other !== -1) return `entry ${other + 1} must have the same scheme, credentials, vhost and options as entry 1 (nodes of one cluster)`;
  return undefined;
}

/**
 * An optional RabbitMQ variable: one amqp(s) URL, or a comma-separated list of a cluster's nodes.
 * Kept as the text it was (a single URL reads exactly as before); `amqpConnectionOptions` splits it.
 */
export const envAmqpUrls = (fallback: string) =>
  v.pipe(
    v.optional(v.string(), fallback),
    v.rawCheck(({ dataset, addIssue }) => {
      const problem = dataset.typed ? amqpUrlListProblem(dataset.value) : undefined;
      if (problem) addIssue({ message: problem });
    }),
  );

/** The HTTP port of a process, with its default. */
export const envHttpPort = (fallback: number) =>
  v.pipe(envPort(fallback), v.description('HTTP listener (`/healthz`, `/readyz`, `/metrics`; the api serves `/api/*` on it too); `0` lets the OS choose'));

/** The size of a process's Postgres pool, with its default. */
export const envPoolMax = (fallback: number) => intSetting({ default: fallback, min: 1, max: 500, description: "connections in this process's Postgres pool" });

export const LogLevel = v.pipe(
  v.optional(v.picklist(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'must be a pino level'), 'info'),
  v.description('pino log level: `fatal`, `error`, `warn`, `info`, `debug`, `trace` or `silent`'),
);

/**
 * Variables every process reads. Each variable of every env schema carries a `v.description()`:
 * `pnpm docs:settings` writes the settings tables of README.md and docs/operations.md from them.
 */
export const CommonEnv = {
  DATABASE_URL: v.pipe(envUrl('postgres://postgres@127.0.0.1:5432/orders', ['postgres', 'postgresql']), v.description('PostgreSQL')),
  RABBITMQ_URL: v.pipe(
    envAmqpUrls('amqp://guest:guest@127.0.0.1:5672'),
    v.description('RabbitMQ (vhost in the path): one node, or the comma-separated nodes of one cluster (same credentials and vhost); each connection fails over between them'),
  ),
  REDIS_URL: v.pipe(envUrl('redis://127.0.0.1:6379/0', ['redis', 'rediss']), v.description('Redis (db index in the path)')),
  LOG_LEVEL: LogLevel,
  DB_POOL_MAX: envPoolMax(10),
};

/**
 * Parses the environment once, at start-up. Reports every bad or missing variable at once,
 * and returns a frozen object so nothing can change the settings later.
 */
export function loadConfig<const TSchema extends v.GenericSchema<Record<string, unknown>, object>>(
  schema: TSchema,
  env: Record<string, string | undefined>,
): Readonly<v.InferOutput<TSchema>> {
  const result = v.safeParse(schema, env);
  if (!result.success) {
    const problems = result.issues.map((issue) => {
      const key = issue.path?.map((item) => String(item.key)).join('.') ?? '(environment)';
      const received = issue.input === undefined ? 'missing' : `got ${JSON.stringify(issue.input)}`;
      return `${key} ${issue.message} (${received})`;
    });
    throw new ConfigError(problems);
  }
  return Object.freeze(result.output);
}
