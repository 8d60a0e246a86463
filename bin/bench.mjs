#!/usr/bin/env node
// `npm run bench`: the benchmarks in scripts/bench (TypeScript run through tsx, as the CLI is).
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../scripts/bench/index.ts');
process.exitCode = await main(process.argv.slice(2));
