/**
 * Writes the settings tables of README.md, docs/operations.md and services/relay/README.md from the env schemas, so the
 * documented defaults are the ones the code applies. Each table sits between markers:
 *
 *   <!-- settings:begin -->       every variable of api, relay, consumer and simulator
 *   <!-- settings:begin ops -->   the ops CLI's variables
 *   <!-- settings:begin relay -->  the relay's (services/relay/README.md)
 *   <!-- settings:end -->
 *
 *   pnpm docs:settings            rewrite the tables
 *   pnpm docs:settings --check    exit 1 when a table is stale
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import * as v from 'valibot';
import { writeGeneratedFiles } from '@order-service/shared';
import { ApiEnv } from '@order-service/api/config';
import { ConsumerEnv } from '@order-service/consumer/config';
import { SimulatorEnv } from '@order-service/consumer/simulator/config';
import { OpsEnv } from '@order-service/ops/config';
import { RelayEnv } from '@order-service/relay/config';

type Entries = Record<string, v.GenericSchema>;

/** The schemas whose variables each table lists, by the marker's name. */
export const TABLES: Record<string, Record<string, Entries>> = {
  services: { api: ApiEnv.entries, relay: RelayEnv.entries, consumer: ConsumerEnv.entries, simulator: SimulatorEnv.entries },
  ops: { ops: OpsEnv.entries },
  relay: { relay: RelayEnv.entries },
};

export const SETTINGS_FILES = ['README.md', 'docs/operations.md', 'services/relay/README.md'].map((file) => ({
  file,
  path: fileURLToPath(new URL(`../${file}`, import.meta.url)),
}));

const cell = (text: string) => text.replaceAll('|', '\\|');
const code = (value: unknown) => (value === undefined || value === '' ? 'unset' : `\`${String(value)}\``);

/** One markdown table of the variables the given processes read: default (per process where they differ), readers, meaning. */
export function settingsTable(processes: Record<string, Entries>): string {
  const names = [...new Set(Object.values(processes).flatMap((entries) => Object.keys(entries)))];
  const missing = names.filter((name) => !Object.values(processes).some((entries) => entries[name] && v.getDescription(entries[name])));
  if (missing.length > 0) throw new Error(`no v.description() for ${missing.join(', ')}`);
  const several = Object.keys(processes).length > 1;
  const rows = names.map((name) => {
    const readers = Object.entries(processes).filter(([, entries]) => name in entries);
    const defaults = readers.map(([process, entries]) => [process, code(v.getDefault(entries[name]!))] as const);
    const same = defaults.every(([, value]) => value === defaults[0]![1]);
    const fallback = same ? defaults[0]![1] : defaults.map(([process, value]) => `${process} ${value}`).join(', ');
    // A variable a process describes in its own words (its own default's reason) says so per process.
    const meanings = readers.flatMap(([process, entries]) => {
      const text = v.getDescription(entries[name]!);
      return text ? [[process, text] as const] : [];
    });
    const distinct = new Set(meanings.map(([, text]) => text));
    const meaning = distinct.size === 1 ? meanings[0]![1] : meanings.map(([process, text]) => `${process}: ${text}`).join('; ');
    const readBy = readers.length === Object.keys(processes).length ? 'all' : readers.map(([process]) => process).join(', ');
    return several ? [`\`${name}\``, fallback, readBy, meaning] : [`\`${name}\``, fallback, meaning];
  });
  const header = several ? ['variable', 'default', 'read by', 'meaning'] : ['variable', 'default', 'meaning'];
  return [header, header.map(() => '---'), ...rows].map((row) => `| ${row.map(cell).join(' | ')} |`).join('\n');
}

const REGION = /(<!-- settings:begin(?: (\w+))? -->\n)[\s\S]*?(<!-- settings:end -->)/g;

/** The document with every marked settings region rewritten from the schemas. */
export function renderSettings(markdown: string): string {
  return markdown.replace(REGION, (_match, begin: string, name: string | undefined, end: string) => {
    const processes = TABLES[name ?? 'services'];
    if (!processes) throw new Error(`unknown settings table "${name}"`);
    return `${begin}\n${settingsTable(processes)}\n\n${end}`;
  });
}

const UNIT_SCALE: Record<string, number> = { ms: 1, s: 1_000, min: 60_000, h: 3_600_000, KiB: 1_024, MiB: 1_048_576 };
const VARIABLE_UNIT: Array<[RegExp, number]> = [
  [/_MS$/, 1],
  [/_SECONDS$/, 1_000],
  [/_HOURS$/, 3_600_000],
  [/_BYTES$/, 1],
];

/**
 * Defaults the prose quotes, as in "`RELAY_BATCH_SIZE` (1000)" or "`RELAY_LEASE_MS` (15 s)", that
 * no process has: the tables are generated, but the text around them is written by hand.
 */
export function staleInlineDefaults(markdown: string): string[] {
  const defaults = new Map<string, Set<number>>();
  for (const processes of Object.values(TABLES)) {
    for (const entries of Object.values(processes)) {
      for (const [name, schema] of Object.entries(entries)) {
        const value = Number(v.getDefault(schema));
        if (Number.isFinite(value)) defaults.set(name, (defaults.get(name) ?? new Set()).add(value));
      }
    }
  }
  const stale: string[] = [];
  const quoted = /`([A-Z][A-Z0-9_]+)` \((?:default )?(\d[\d,]*(?:\.\d+)?)(?: (ms|s|min|h|KiB|MiB))?(?=[,;)])/g;
  for (const [text, name, number, unit] of markdown.matchAll(quoted)) {
    const known = defaults.get(name!);
    if (!known) continue;
    const scale = unit ? UNIT_SCALE[unit]! / (VARIABLE_UNIT.find(([suffix]) => suffix.test(name!))?.[1] ?? 1) : 1;
    const value = Number(number!.replaceAll(',', '')) * scale;
    if (!known.has(value)) stale.push(`${text}): the code's default is ${[...known].join(' or ')}`);
  }
  return stale;
}

/** Rewrites the settings regions (or, with `check`, only compares); returns the files that were stale. */
export async function writeSettingsDocs({ check }: { check: boolean }): Promise<string[]> {
  const wanted = new Map<string, string>();
  for (const { file, path } of SETTINGS_FILES) {
    const current = await readFile(path, 'utf8');
    if (!current.includes('<!-- settings:begin')) throw new Error(`${file} has no <!-- settings:begin --> region`);
    wanted.set(path, renderSettings(current));
  }
  const stale = await writeGeneratedFiles(wanted, { check });
  return SETTINGS_FILES.filter(({ path }) => stale.includes(path)).map(({ file }) => file);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const check = process.argv.includes('--check');
  const stale = await writeSettingsDocs({ check });
  for (const file of stale) console.log(check ? `stale: ${file} (run pnpm docs:settings)` : `rewrote ${file}`);
  if (check && stale.length > 0) process.exitCode = 1;
}
