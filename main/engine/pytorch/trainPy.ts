/**
 * The train.py template: a real Python file, main/engine/pytorch/python/train.py, copied as is into every
 * training bundle (the project's settings go to config.json beside it, so the script never changes per
 * project and can be read, linted and tested as Python).
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

/**
 * Where the templates live: beside this module. Literal `new URL('…', import.meta.url)` so a bundler that
 * follows that pattern (Vite) ships the files with the build; a bundled build that does not must copy python/.
 */
export const TRAIN_PY_URL = new URL('./python/train.py', import.meta.url);
export const LAUNCH_PY_URL = new URL('./python/launch.py', import.meta.url);

export function trainPyPath(): string {
  return fileURLToPath(TRAIN_PY_URL);
}

const cache = new Map<string, string>();

async function source(name: string, url: URL): Promise<string> {
  let text = cache.get(name);
  if (text === undefined) {
    text = await readFile(url, 'utf8').catch((error: unknown) => {
      throw new Error(`the ${name} template is missing (${fileURLToPath(url)}): ${error instanceof Error ? error.message : String(error)}`);
    });
    cache.set(name, text);
  }
  return text;
}

/** train.py's text. */
export const trainPySource = () => source('train.py', TRAIN_PY_URL);

/** launch.py's text: torchrun with the fix for torch < 2.0 on Python >= 3.11 (see the file). */
export const launchPySource = () => source('launch.py', LAUNCH_PY_URL);
