// @ts-check
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/**
 * Lint for the library, the demo, the tests and the benchmarks. Formatting is Prettier's
 * (`npm run format`); these rules catch mistakes, not style. Syntax-only rules: the type
 * checker already runs in `npm test` (`npm run typecheck`), and type-aware linting would
 * double its cost on every run.
 */
export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'test/artifacts/**', 'bench/.tmp/**', '.data/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: { ...globals.node },
      // Nest reads constructor parameter types at run time (emitDecoratorMetadata): an import
      // a decorated class uses as a type must stay a value import, which the rule then knows.
      parserOptions: { emitDecoratorMetadata: true, experimentalDecorators: true },
    },
    rules: {
      '@typescript-eslint/consistent-type-imports': [
        'error',
        { prefer: 'type-imports', fixStyle: 'inline-type-imports', disallowTypeAnnotations: false },
      ],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true },
      ],
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      'no-console': 'off',
    },
  },
  {
    // Browser code: the client, its bundle and the demo page.
    files: ['libs/nestjs-inbox/src/client/**', 'libs/nestjs-inbox/src/elements/**', 'src/public/**'],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    // Tests and benchmarks reach into internals and raw wire payloads on purpose.
    files: ['**/*.spec.ts', 'test/**', 'bench/**'],
    languageOptions: { globals: { ...globals.vitest } },
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  prettier,
);
