import { expect } from 'chai';
import { BASE_DATABASE_URL } from '@order-service/testkit';

type RunCodegen = (baseUrl: string, verify: boolean) => Promise<{ ok: boolean; output: string }>;

describe('generated database types (packages/shared/src/db/types.ts)', function () {
  this.timeout(60_000);

  it('match the schema the migrations build (kysely-codegen --verify)', async () => {
    // scripts/ belongs to another TypeScript project, so it is loaded at run time by URL.
    const script = new URL('../../../scripts/codegen.ts', import.meta.url).href;
    const { runCodegen } = (await import(script)) as { runCodegen: RunCodegen };
    // verify=true only compares; it never rewrites the committed file.
    const result = await runCodegen(BASE_DATABASE_URL, true);
    expect(result.ok, `types.ts is stale; run pnpm db:codegen\n${result.output}`).to.equal(true);
  });
});
