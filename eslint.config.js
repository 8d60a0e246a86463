// ESLint flat config. Besides the usual TypeScript rules it enforces the layering of
// ../shared/ARCHITECTURE.md: shared/ imports only itself at run time, the engine never imports
// electron, and the renderer never imports main/.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const electronOnly = { name: 'electron', message: 'Only main/index.ts, main/ipc.ts and preload/ may import electron.' };

export default tseslint.config(
  { ignores: ['node_modules/**', 'out/**', 'dist/**', 'test-results/**', 'playwright-report/**', 'e2e/artifacts/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2023, sourceType: 'module' },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports', disallowTypeAnnotations: false }],
    },
  },
  {
    files: ['**/*.mjs', '**/*.js', 'scripts/**'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly', setTimeout: 'readonly' } },
  },
  {
    files: ['shared/**/*.ts'],
    ignores: ['shared/**/*.test.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: ['../../main/*', '../../renderer/*', '../../preload/*', '../main/*', '../renderer/*'], message: 'shared/ imports only shared/.' },
          { group: ['node:*', 'fs', 'path', 'os', 'child_process', 'worker_threads'], message: 'shared/ is pure TypeScript: no Node imports.' },
          { group: ['@tensorflow/*', 'react', 'react-dom', '@xyflow/*', 'zustand', 'recharts', 'electron'], allowTypeImports: true, message: 'shared/ may only import types from libraries.' },
        ],
      }],
    },
  },
  {
    files: ['main/engine/**/*.ts', 'main/server/**/*.ts', 'main/cli/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { paths: [electronOnly] }] },
  },
  {
    files: ['renderer/**/*.{ts,tsx}'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: [electronOnly],
        patterns: [{ group: ['**/main/*', '../../../main/*'], message: 'The renderer talks to the engine only through the client (renderer/src/api).' }],
      }],
    },
  },
);
