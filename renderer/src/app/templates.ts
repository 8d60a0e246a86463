/** Example projects from resources/templates, bundled at build time: adding a file there adds a template. */
import { parseProjectText, type ProjectFile } from '../../../shared/project';

export interface Template {
  id: string;
  fileName: string;
  text: string;
  project: ProjectFile;
}

const raw = import.meta.glob('../../../resources/templates/*.json', { eager: true, query: '?raw', import: 'default' }) as Record<string, string>;

export const TEMPLATES: Template[] = Object.entries(raw)
  .flatMap(([path, text]) => {
    const fileName = path.split('/').pop()!;
    try {
      return [{ id: fileName.replace(/\.json$/, ''), fileName, text, project: parseProjectText(text, fileName) }];
    } catch (error) {
      console.warn(`Template ${fileName} skipped: ${error instanceof Error ? error.message : String(error)}`);
      return [];
    }
  })
  .sort((a, b) => a.project.graph.nodes.length - b.project.graph.nodes.length || a.project.name.localeCompare(b.project.name));
