import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import * as v from 'valibot';

interface SettingsDocs {
  SETTINGS_FILES: Array<{ file: string; path: string }>;
  TABLES: Record<string, Record<string, Record<string, v.GenericSchema>>>;
  renderSettings(markdown: string): string;
  settingsTable(processes: Record<string, Record<string, v.GenericSchema>>): string;
  staleInlineDefaults(markdown: string): string[];
}

// scripts/ belongs to another TypeScript project, so it is loaded at run time by URL.
const docs = (await import(new URL('../../../scripts/docs-settings.ts', import.meta.url).href)) as SettingsDocs;

describe('the settings tables of the docs (scripts/docs-settings.ts)', () => {
  for (const { file, path } of docs.SETTINGS_FILES) {
    it(`${file} holds the tables generated from the env schemas (run pnpm docs:settings when this fails)`, () => {
      const current = readFileSync(path, 'utf8');
      expect(current).to.include('<!-- settings:begin');
      expect(docs.renderSettings(current) === current, `${file} is stale: run pnpm docs:settings`).to.equal(true);
    });

    it(`${file} quotes no default in its prose that the code does not have`, () => {
      expect(docs.staleInlineDefaults(readFileSync(path, 'utf8'))).to.deep.equal([]);
    });
  }

  it('lists every variable of every schema with the default the schema applies', () => {
    const table = docs.settingsTable(docs.TABLES.services!);
    for (const [process, entries] of Object.entries(docs.TABLES.services!)) {
      for (const [name, schema] of Object.entries(entries)) {
        const row = table.split('\n').find((line) => line.startsWith(`| \`${name}\` |`));
        expect(row, `${process} ${name}`).to.be.a('string');
        const fallback = v.getDefault(schema);
        if (fallback !== undefined) expect(row, `${process} ${name}`).to.include(`\`${String(fallback)}\``);
      }
    }
  });

  it('names the defaults per process where the processes differ', () => {
    const row = docs.settingsTable(docs.TABLES.services!).split('\n').find((line) => line.startsWith('| `DB_POOL_MAX` |'));
    expect(row).to.include('api `20`, relay `10`, consumer `10`');
  });

  it('refuses a variable without a description', () => {
    const entries = { UNDOCUMENTED: v.optional(v.string(), 'x') };
    expect(() => docs.settingsTable({ api: entries })).to.throw('UNDOCUMENTED');
  });

  it('finds a default quoted in prose that the code does not have, in the units the prose uses', () => {
    expect(
      docs.staleInlineDefaults('`RELAY_BATCH_SIZE` (500), `RELAY_LEASE_MS` (15 s), `CONSUMER_MAX_BODY_BYTES` (64 KiB), `DB_POOL_MAX` (default 12)'),
    ).to.deep.equal([
      "`RELAY_BATCH_SIZE` (500): the code's default is 1000",
      "`DB_POOL_MAX` (default 12): the code's default is 20 or 10",
    ]);
  });

  it('rewrites only the marked region', () => {
    const markdown = 'before\n<!-- settings:begin ops -->\nold table\n<!-- settings:end -->\nafter\n';
    const rendered = docs.renderSettings(markdown);
    expect(rendered.startsWith('before\n<!-- settings:begin ops -->\n')).to.equal(true);
    expect(rendered.endsWith('<!-- settings:end -->\nafter\n')).to.equal(true);
    expect(rendered).not.to.include('old table');
    expect(rendered).to.include('| `OPS_TIMEOUT_MS` | `3000` |');
  });
});
