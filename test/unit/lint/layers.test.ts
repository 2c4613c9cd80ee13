/** The dependency rule (docs/architecture.md) is held by eslint.config.js: a forbidden import fails lint. */
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const eslint = new ESLint({ cwd: ROOT });

async function restricted(file: string, source: string): Promise<string[]> {
  const [result] = await eslint.lintText(source, { filePath: `${ROOT}/${file}` });
  return result.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('layer rules', () => {
  const cases: Array<[file: string, specifier: string]> = [
    ['src/core/x.ts', '../sink/layout.js'],
    ['src/core/sketch/x.ts', '../../sources/index.js'],
    ['src/core/x.ts', 'node:fs'],
    ['src/core/x.ts', '@aws-sdk/client-dynamodb'],
    ['src/sources/x.ts', '../sink/layout.js'],
    ['src/sink/x.ts', '../read/counter-reader.js'],
    ['src/sink/x.ts', '../sources/index.js'],
    ['src/read/x.ts', '../sink/counter-writer.js'],
    ['src/read/x.ts', '../sources/index.js'],
    ['src/pipeline/x.ts', '../local/aws/servers.js'],
    ['src/pipeline/x.ts', '../samples/sample-events.js'],
    ['src/pipeline/x.ts', '../handlers/analytics.js'],
    ['src/handlers/x.ts', '../local/read-server.js'],
    ['src/handlers/x.ts', '../cli/args.js'],
    ['src/handlers/x.ts', '../samples/prng.js'],
    ['src/local/x.ts', '../cli/args.js'],
    ['src/local/emulator/x.ts', '../../cli/progress.js'],
    ['src/producer/x.ts', '../local/aws/aws-clients.js'],
    ['src/dashboard/x.ts', '../cli/args.js'],
    ['src/config.ts', './local/aws/servers.js'],
    ['bench/x.ts', '../src/local/aws/servers.js'],
    ['bench/x.ts', '../src/cli/args.js'],
    ['src/replay/x.ts', '../local/aws/aws-clients.js'],
    ['src/replay/x.ts', '../cli/args.js'],
    ['src/replay/x.ts', '../handlers/create-analytics-handler.js'],
    ['src/sink/x.ts', '../replay/index.js'],
    ['src/pipeline/x.ts', '../replay/index.js'],
  ];
  it.each(cases)('%s may not import %s', async (file, specifier) => {
    expect(await restricted(file, `import { x } from '${specifier}';\nexport const y = x;\n`)).toHaveLength(1);
  });

  const allowed: Array<[file: string, specifier: string]> = [
    ['src/read/x.ts', '../sink/layout.js'],
    ['src/read/x.ts', '../core/types.js'],
    ['src/sink/x.ts', '../core/aggregator.js'],
    ['src/pipeline/x.ts', '../sink/counter-writer.js'],
    ['src/handlers/x.ts', '../pipeline/stream-processor.js'],
    ['src/local/x.ts', '../handlers/create-analytics-handler.js'],
    ['src/cli/x.ts', '../local/local-stack.js'],
    ['bench/x.ts', '../src/local/template/template.js'],
    ['src/replay/x.ts', '../sink/counter-writer.js'],
    ['src/replay/x.ts', '../sources/index.js'],
    ['src/cli/x.ts', '../replay/index.js'],
  ];
  it.each(allowed)('%s may import %s', async (file, specifier) => {
    expect(await restricted(file, `import { x } from '${specifier}';\nexport const y = x;\n`)).toEqual([]);
  });
});
