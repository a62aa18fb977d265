import { readFile, writeFile } from 'node:fs/promises';

/**
 * Writes each generated file whose text differs from the one on disk (with `check`, only compares)
 * and returns the paths that were stale; a missing file is stale. The docs generators share it so
 * that `--check` in CI means the same thing for every generated file.
 */
export async function writeGeneratedFiles(files: Iterable<readonly [path: string, text: string]>, { check }: { check: boolean }): Promise<string[]> {
  const stale: string[] = [];
  for (const [path, text] of files) {
    const current = await readFile(path, 'utf8').catch(() => undefined);
    if (current === text) continue;
    stale.push(path);
    if (!check) await writeFile(path, text);
  }
  return stale;
}
