#!/usr/bin/env node
// Entry point of the `layerforge` CLI. The CLI is TypeScript run through tsx, so it needs no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../main/cli/index.ts');
process.exitCode = await main(process.argv.slice(2));
