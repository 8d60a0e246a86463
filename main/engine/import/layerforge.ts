/**
 * Layerforge's own files as importers: a project file (`.lfproj` / `.json` with `"format": "layerforge-project"`)
 * and a trained-model folder (project.json + model.json, as `layerforge train --out`, a run and an import with
 * weights write). Both are read as they are: the project is the graph, and a model folder's weights are its own.
 */
import type * as tfjs from '@tensorflow/tfjs';
import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseProjectText, PROJECT_FORMAT, type ProjectFile } from '../../../shared/project';
import { loadModelFolder } from '../export/modelFolder';
import { ModelImportError } from './errors';
import type { ImportOptions, ImportProbe, ImportResult, ModelImporter } from './types';

const PROJECT_HEAD = new RegExp(`"format"\\s*:\\s*"${PROJECT_FORMAT}"`);
/** Project files are small; a bigger .json is some other format's (a topology with inline weights). */
const MAX_PROJECT_BYTES = 64 * 1024 * 1024;

function named(project: ProjectFile, options: ImportOptions): ProjectFile {
  return options.name ? { ...project, name: options.name } : project;
}

function asIs(project: ProjectFile, kind: ImportResult['kind'], hasWeights: boolean): ImportResult {
  return { project, kind, warnings: [], hasWeights, renamed: {}, assumed: [] };
}

async function readProject(file: string): Promise<ProjectFile> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new ModelImportError(`cannot read ${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
  try {
    return parseProjectText(text, file);
  } catch (error) {
    throw new ModelImportError(error instanceof Error ? error.message : String(error));
  }
}

export const layerforgeProjectImporter: ModelImporter = {
  id: 'layerforge-project',
  label: 'Layerforge project',
  async detect(probe: ImportProbe) {
    if (probe.isDirectory) return false;
    if (probe.ext === '.lfproj') return true;
    const head = new TextDecoder().decode(probe.head);
    if (PROJECT_HEAD.test(head)) return true;
    if (probe.ext !== '.json' || !head.trimStart().startsWith('{')) return false;
    // A hand-written project may put "format" further down: parse the whole (small) file.
    try {
      const text = await readFile(probe.path, 'utf8');
      if (text.length > MAX_PROJECT_BYTES) return false;
      return (JSON.parse(text) as { format?: unknown }).format === PROJECT_FORMAT;
    } catch {
      return false;
    }
  },
  async read(path, options) {
    return asIs(named(await readProject(path), options), 'layerforge-project', false);
  },
};

export const layerforgeModelFolderImporter: ModelImporter = {
  id: 'layerforge-model-folder',
  label: 'Layerforge model folder',
  detect: (probe) => probe.isDirectory && probe.entries.includes('project.json'),
  async read(path, options) {
    const project = await readProject(join(path, 'project.json'));
    const hasWeights = await access(join(path, 'model.json')).then(
      () => true,
      () => false, // a project folder without a trained model
    );
    return asIs(named(project, options), 'layerforge-model-folder', hasWeights);
  },
  async readWithWeights(tf: typeof tfjs, path, options) {
    const result = await layerforgeModelFolderImporter.read(path, options);
    if (!result.hasWeights) throw new ModelImportError(`${path} has a project.json but no model.json: it is a project folder without trained weights`);
    const folder = await loadModelFolder(tf, path);
    return { result, folder: { ...folder, project: result.project, metrics: { ...folder.metrics, importedFrom: path } } };
  },
};
