import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'models/**', 'data/**', 'results/**', 'grafana/provisioning/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-restricted-imports': 'off',
    },
  },
  {
    files: ['services/core/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['@embedbench/http*', '@embedbench/backends*', 'koa', '@koa/*', 'onnxruntime-*', '@huggingface/*'] }],
    },
  },
  {
    files: ['services/backends/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: ['@embedbench/http*', 'koa', '@koa/*'] }] },
  },
);
