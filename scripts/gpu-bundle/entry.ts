/** The bundle's entry (esbuild turns it into gpu-check.mjs): runs the GPU check from its own folder, see check.ts. */
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runGpuCheck } from './check';

process.exitCode = await runGpuCheck(dirname(fileURLToPath(import.meta.url)));
