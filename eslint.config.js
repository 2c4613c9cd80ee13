import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * The dependency rule (docs/architecture.md), one block per layer. Patterns match relative specifiers as
 * written in src/<layer>/ and its subfolders (`../x/` from a layer's top level, `../../x/` from one level down).
 */
const outside = (...layers) =>
  layers.flatMap((l) => [`../${l}`, `../${l}/*`, `../../${l}`, `../../${l}/*`, `../../../${l}/*`]);
const layer = (files, patterns, message) => ({
  files,
  rules: { 'no-restricted-imports': ['error', { patterns: [{ group: patterns, message }] }] },
});

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.aws-sam/', 'coverage/', 'src/dashboard/vendor/', '.ci/.node22/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        URL: 'readonly',
        TextDecoder: 'readonly',
        TextEncoder: 'readonly',
        AbortController: 'readonly',
        fetch: 'readonly',
        performance: 'readonly',
        queueMicrotask: 'readonly',
        globalThis: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    // The kinesis-local preload must be CommonJS (node --require).
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', module: 'writable' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  layer(
    ['src/core/**/*.ts'],
    [
      '@aws-sdk/*',
      '@middy/*',
      '@aws-lambda-powertools/*',
      'node:*',
      ...outside(
        'sources',
        'sink',
        'read',
        'pipeline',
        'handlers',
        'dashboard',
        'producer',
        'samples',
        'local',
        'cli',
        'replay',
      ),
      '../config*',
      '../../config*',
    ],
    'src/core is pure: it imports only itself (no AWS, Middy, Node I/O or outer layers).',
  ),
  layer(
    ['src/sources/**/*.ts'],
    outside('sink', 'read', 'pipeline', 'handlers', 'dashboard', 'producer', 'samples', 'local', 'cli', 'replay'),
    'src/sources imports only core and the AWS SDK (docs/architecture.md).',
  ),
  layer(
    ['src/sink/**/*.ts'],
    outside('sources', 'read', 'pipeline', 'handlers', 'dashboard', 'producer', 'samples', 'local', 'cli', 'replay'),
    'src/sink imports only core and the AWS SDK (docs/architecture.md).',
  ),
  layer(
    ['src/read/**/*.ts'],
    [
      ...outside('sources', 'pipeline', 'handlers', 'producer', 'samples', 'local', 'cli', 'replay'),
      '../sink/*',
      '!../sink/layout.js',
    ],
    'src/read imports core, the AWS SDK and only the table layout of sink (docs/architecture.md).',
  ),
  layer(
    ['src/pipeline/**/*.ts'],
    outside('handlers', 'cli', 'local', 'samples', 'read', 'dashboard', 'producer', 'replay'),
    'src/pipeline never imports handlers, cli, local, samples or the read side (docs/architecture.md).',
  ),
  layer(
    ['src/handlers/**/*.ts'],
    outside('cli', 'local', 'samples', 'producer'),
    'src/handlers are Lambda entry points: never cli, local, samples or producer (docs/architecture.md).',
  ),
  layer(
    ['src/dashboard/**/*.ts', 'src/producer/**/*.ts', 'src/samples/**/*.ts'],
    outside('cli', 'local', 'handlers', 'pipeline'),
    'dashboard, producer and samples are libraries: never cli, local, handlers or pipeline (docs/architecture.md).',
  ),
  layer(
    ['src/config.ts'],
    ['./cli/*', './local/*', './samples/*', './handlers/*', './pipeline/*', './read/*'],
    'src/config.ts is loaded by both functions: never cli, local, samples, handlers, pipeline or read.',
  ),
  {
    // One exception: the cost benchmark resolves template.yaml's freshness settings through the same
    // template reader the local emulator uses, so its figures follow the template.
    files: ['bench/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^\\.\\./src/(cli/|local/(?!template/template\\.js$))',
              message:
                'bench/ measures the product: it imports neither the local runtime (but its template reader) nor the CLIs.',
            },
          ],
        },
      ],
    },
  },
  layer(
    ['src/replay/**/*.ts'],
    outside('read', 'pipeline', 'handlers', 'dashboard', 'producer', 'samples', 'local', 'cli'),
    'src/replay (npm run replay as a library) imports core, sources, sink and the AWS SDK only: never read, pipeline, handlers, local, samples or cli.',
  ),
  layer(
    ['src/local/**/*.ts'],
    outside('cli'),
    'Nothing imports src/cli: it holds npm entry points only (docs/architecture.md).',
  ),
);
