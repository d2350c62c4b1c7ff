import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '.cache/**', 'models/**', 'data/**', 'results/**'] },
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
    files: ['services/core/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['@embedbench/http*', '@embedbench/backends*', 'koa', '@koa/*', 'onnxruntime-*', '@huggingface/transformers'] }],
    },
  },
  {
    files: ['services/backends/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: ['@embedbench/http*', 'koa', '@koa/*'] }] },
  },
);
