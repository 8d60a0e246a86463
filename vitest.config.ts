import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['shared/**/*.test.ts', 'main/**/*.test.ts', 'renderer/src/**/*.test.{ts,tsx}', 'scripts/**/*.test.ts'],
    environment: 'node',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Vitest's default is one worker fewer than the cores: ONE on a 2-core machine, where many tests wait on
    // the processes they spawn (the CLI, serve, Python, torchrun). Two keep both cores busy.
    maxWorkers: 2,
    setupFiles: ['vitest.setup.ts'],
  },
});
