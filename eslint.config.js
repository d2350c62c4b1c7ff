import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

/**
 * The layering README's Architecture section shows, as import rules: the contract imports
 * nothing; the core imports the contract and no transport, backend or model runtime; backends
 * import the core and the contract only; http/src/main.ts is the one place that wires http, core
 * and backends; the CLI runs the service through @embedbench/http/main only.
 */
const restrict = (message, group, names = []) => [
  'error',
  { paths: names.map((name) => ({ name, message })), patterns: [{ group, message }] },
];
const CONTRACT_ONLY_FROM_LOADTEST = ['@embedbench/loadtest/*', '!@embedbench/loadtest/contract'];

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '.cache/**', '.device/**', 'models/**', 'data/**', 'results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: globals.node },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-restricted-imports': 'off',
    },
  },
  {
    files: ['loadtest/lib/contract.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ regex: '.*', message: 'the contract imports nothing (k6, browsers and Node all load it)' }] }],
    },
  },
  {
    files: ['services/core/**/*.ts'],
    rules: {
      'no-restricted-imports': restrict(
        'the core imports only the contract and its own libraries: no http, backends, Koa or model runtimes',
        ['@embedbench/http*', '@embedbench/backends*', 'koa', '@koa/*', 'onnxruntime-*', '@huggingface/transformers', ...CONTRACT_ONLY_FROM_LOADTEST],
      ),
    },
  },
  {
    files: ['services/backends/**/*.ts'],
    rules: {
      'no-restricted-imports': restrict(
        'backends import the core and the contract only: no http or Koa',
        ['@embedbench/http*', 'koa', '@koa/*', ...CONTRACT_ONLY_FROM_LOADTEST],
      ),
    },
  },
  {
    files: ['services/http/src/**/*.ts'],
    ignores: ['services/http/src/main.ts'],
    rules: {
      'no-restricted-imports': restrict(
        'only services/http/src/main.ts (the composition root) imports the backends; the rest of http sees the core alone',
        ['@embedbench/backends*', ...CONTRACT_ONLY_FROM_LOADTEST],
      ),
    },
  },
  {
    files: ['bench/**/*.ts', 'grafana/**/*.ts'],
    rules: {
      'no-restricted-imports': restrict(
        'the CLI and the dashboards reach the service through @embedbench/http/main, HTTP and the contract, not its internals',
        ['@embedbench/core*', '@embedbench/backends*', '@embedbench/http/*', '!@embedbench/http/main'],
        ['@embedbench/http'],
      ),
    },
  },
  {
    // The benchmarks measure the services' own parts in process (the queue, the padding, raw
    // session.run), and `embedbench doctor` runs the backends' provider probe: they may import the
    // core and the backends, but never the HTTP layer's internals.
    files: ['bench/src/commands/doctor.ts', 'bench/src/benchmarks/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ regex: '^@embedbench/http(?!/main$)', message: 'benchmarks and doctor never use the HTTP layer in process' }] },
      ],
    },
  },
);
