/**
 * `pnpm ops <command>`: the operators' CLI. Every command prints a readable view, or JSON with
 * `--json`, and exits with a code scripts can rely on (see exit-codes.ts and docs/operations.md).
 * Commands and clients are imported when used, so a command loads only the drivers it needs.
 */
import { fileURLToPath } from 'node:url';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigError, loadConfig } from '@order-service/shared/config';
import type { Clients } from './clients';
import { OpsEnv, type OpsConfig } from './config';
import { ExitCode, UsageError, type CommandResult } from './exit-codes';
import { describeError } from './format';
import { progressOn, type StartProgress } from './progress';

type Options = NonNullable<ParseArgsConfig['options']>;
type Values = Record<string, string | boolean | undefined>;

interface Command {
  usage: string;
  summary: string;
  options?: Options;
  positionals?: boolean;
  run(clients: Clients, config: OpsConfig, values: Values, positionals: string[], progress: StartProgress): Promise<CommandResult>;
}

function positiveInt(value: string | boolean | undefined, name: string, fallback?: number): number | undefined {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !/^\d+$/.test(value) || Number(value) < 1) throw new UsageError(`--${name} must be a positive integer`);
  return Number(value);
}

/** An ISO 8601 time with its zone, so it means the same on every host ('2026-12-03T10:15:00Z', '2026-12-03 11:15+01:00'). */
const INSTANT = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i;

function instant(value: string | boolean | undefined, name: string): Date | undefined {
  if (value === undefined) return undefined;
  const date = new Date(typeof value === 'string' && INSTANT.test(value) ? value : NaN);
  if (Number.isNaN(date.getTime())) throw new UsageError(`--${name} must be an ISO 8601 time with its zone, such as 2026-12-03T10:15:00Z`);
  return date;
}

const COMMANDS: Record<string, Command> = {
  status: {
    usage: 'status',
    summary: 'backlog, oldest unpublished age, parked rows, DLQ depth, inbox size, Redis, and every process /readyz',
    run: async (clients, config) => (await import('./status')).status(clients, config),
  },
  'outbox parked': {
    usage: 'outbox parked [--limit N]',
    summary: 'list outbox rows parked after their last publish attempt failed',
    options: { limit: { type: 'string' } },
    run: async (clients, _config, values) => (await import('./outbox')).listParked(clients.db(), positiveInt(values.limit, 'limit', 100)!),
  },
  'outbox redrive': {
    usage: 'outbox redrive <id>... | --all [--clear-error]',
    summary: 'put parked rows back for publishing (attempts reset, due now, relays woken)',
    options: { all: { type: 'boolean' }, 'clear-error': { type: 'boolean' } },
    positionals: true,
    run: async (clients, _config, values, positionals) => {
      if (values.all && positionals.length > 0) throw new UsageError('give row ids or --all, not both');
      const { redriveParked } = await import('./outbox');
      return redriveParked(clients.db(), values.all ? { all: true } : { ids: positionals }, { clearError: values['clear-error'] === true });
    },
  },
  'outbox republish': {
    usage: 'outbox republish --since <time> [--until <time>]',
    summary:
      'after a broker lost messages it had confirmed: put the OrderCreated events published in [since, until) back in the outbox ' +
      '(since: the oldest confirm the broker may have lost, earlier when in doubt; until: the loss, now by default)',
    options: { since: { type: 'string' }, until: { type: 'string' } },
    run: async (clients, _config, values) => {
      const since = instant(values.since, 'since');
      if (!since) throw new UsageError('--since is required: the oldest confirm the broker may have lost (earlier when in doubt: consumers deduplicate)');
      return (await import('./outbox')).republishPublished(clients.db(), { since, until: instant(values.until, 'until') });
    },
  },
  'dlq list': {
    usage: 'dlq list [--limit N]',
    summary: 'show dead-lettered payment events and why (browsing removes nothing)',
    options: { limit: { type: 'string' } },
    run: async (clients, _config, values) => {
      const limit = positiveInt(values.limit, 'limit', 20)!;
      return (await import('./dlq')).listDeadLetters(await clients.amqp(), limit);
    },
  },
  'dlq redrive': {
    usage: 'dlq redrive [--limit N]',
    summary: 'move dead letters back to order-service.payment-processed (publish confirmed, then ack)',
    options: { limit: { type: 'string' } },
    run: async (clients, _config, values, _positionals, progress) => {
      const limit = positiveInt(values.limit, 'limit');
      return (await import('./dlq')).redriveDeadLetters(await clients.amqp(), limit, progress);
    },
  },
  trace: {
    usage: 'trace <order_id>',
    summary: "an order's story: the order, its outbox row, status changes, inbox entries and cache entry",
    positionals: true,
    run: async (clients, _config, _values, positionals) => {
      if (positionals.length !== 1) throw new UsageError('trace takes exactly one order id');
      return (await import('./trace')).traceOrder(clients, positionals[0]!);
    },
  },
};

export const USAGE = [
  'Usage: pnpm ops <command> [options] [--json]',
  '',
  'Commands:',
  ...Object.values(COMMANDS).map((c) => `  ${c.usage}\n      ${c.summary}`),
  '',
  'Every command takes --json (machine-readable output on stdout; progress of long work goes to stderr).',
  'Exit codes: 0 ok, 1 error, 2 usage, 3 not found / unhealthy.',
  'Environment: DATABASE_URL, RABBITMQ_URL, REDIS_URL, OPS_API_URL, OPS_RELAY_URLS, OPS_CONSUMER_URLS,',
  '  OPS_SIMULATOR_URLS, OPS_TIMEOUT_MS, OPS_PROGRESS_INTERVAL_MS (see docs/operations.md).',
].join('\n');

/** Picks the command named by the leading words of argv; the rest are its arguments. */
function findCommand(args: string[]): { name: string; command: Command; rest: string[] } {
  for (const words of [2, 1]) {
    const name = args.slice(0, words).join(' ');
    const command = COMMANDS[name];
    if (command) return { name, command, rest: args.slice(words) };
  }
  throw new UsageError(args.length === 0 ? 'no command given' : `unknown command: ${args.slice(0, 2).join(' ')}`);
}

/** Runs the CLI for `argv` (without node and the script) and returns the exit code. */
export async function main(argv: string[], env: Record<string, string | undefined>, out = process.stdout, err = process.stderr): Promise<number> {
  const json = argv.includes('--json');
  const args = argv.filter((arg) => arg !== '--json');
  if (args.includes('--help') || args.includes('-h') || args[0] === 'help') {
    out.write(`${USAGE}\n`);
    return ExitCode.ok;
  }
  const fail = (code: number, message: string, usage = false) => {
    if (json) out.write(`${JSON.stringify({ error: message, exit_code: code })}\n`);
    err.write(`ops: ${message}\n${usage ? `\n${USAGE}\n` : ''}`);
    return code;
  };

  let clients: Clients | undefined;
  try {
    const { command, rest } = findCommand(args);
    const { values, positionals } = parseArgs({
      args: rest,
      options: command.options ?? {},
      allowPositionals: command.positionals ?? false,
      strict: true,
    });
    const config = loadConfig(OpsEnv, env);
    // Loaded only now, so that usage errors and --help answer without loading the clients.
    const { createClients } = await import('./clients');
    clients = createClients(config);
    // Progress goes to stderr, so stdout holds only the result, --json or not.
    const progress = progressOn({ out: err, intervalMs: config.OPS_PROGRESS_INTERVAL_MS });
    const result = await command.run(clients, config, values as Values, positionals, progress);
    out.write(json ? `${JSON.stringify(result.data, null, 2)}\n` : `${result.text}\n`);
    return result.exitCode;
  } catch (error) {
    if (error instanceof UsageError) return fail(ExitCode.usage, error.message, true);
    if ((error as { code?: unknown }).code?.toString().startsWith('ERR_PARSE_ARGS')) return fail(ExitCode.usage, (error as Error).message, true);
    if (error instanceof ConfigError) return fail(ExitCode.usage, error.message);
    return fail(ExitCode.error, describeError(error));
  } finally {
    await clients?.close();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2), process.env);
}
