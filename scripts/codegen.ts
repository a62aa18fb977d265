/**
 * Regenerates packages/shared/src/db/types.ts from the migrated schema: migrates a scratch
 * database, runs kysely-codegen against it, and drops it. `--verify` only checks that the
 * committed file is current (exit 1 when it is stale).
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as v from 'valibot';
import { CommonEnv, loadConfig } from '@order-service/shared';
import { dropDatabase, migrateDatabase } from '@order-service/shared/migrate';

const TYPES_FILE = fileURLToPath(new URL('../packages/shared/src/db/types.ts', import.meta.url));

/** Runs kysely-codegen against a freshly migrated scratch database. */
export async function runCodegen(baseUrl: string, verify: boolean): Promise<{ ok: boolean; output: string }> {
  const url = new URL(baseUrl);
  url.pathname = `/codegen_${randomUUID().replaceAll('-', '')}`;
  const scratch = url.toString();
  await migrateDatabase(scratch);
  try {
    const args = ['--dialect', 'postgres', '--url', scratch, '--out-file', TYPES_FILE, '--exclude-pattern', 'pgmigrations'];
    if (verify) args.push('--verify');
    const { stdout, stderr } = await promisify(execFile)('kysely-codegen', args, {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      env: { ...process.env, PATH: `${fileURLToPath(new URL('../node_modules/.bin', import.meta.url))}:${process.env.PATH}` },
    });
    return { ok: true, output: stdout + stderr };
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    return { ok: false, output: stdout + stderr };
  } finally {
    await dropDatabase(scratch);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const config = loadConfig(v.object({ DATABASE_URL: CommonEnv.DATABASE_URL }), process.env);
  const result = await runCodegen(config.DATABASE_URL, process.argv.includes('--verify'));
  process.stdout.write(result.output);
  process.exitCode = result.ok ? 0 : 1;
}
