import { getLayer } from '../layers';
import type { Graph } from '../graph/types';
import { parse, s, SchemaError, type SchemaIssue } from '../schema';
import { trainingSettingsSchema, defaultTrainingSettings, type TrainingSettings } from './training';

export const PROJECT_FORMAT = 'layerforge-project';
export const PROJECT_VERSION = 1;

export interface ProjectFile {
  format: typeof PROJECT_FORMAT;
  version: typeof PROJECT_VERSION;
  name: string;
  description?: string;
  graph: Graph;
  training: TrainingSettings;
  /** Chosen dataset id (e.g. 'cifar10'), or null. */
  dataset: string | null;
  /**
   * When true (templates say so), the Input's size and the output layer's units follow the dataset the
   * project is trained on (shared/tasks/fit.ts): 13 features and 3 classes just work.
   */
  fitToDataset?: boolean;
}

const paramValue = s.union<number | boolean | string | number[]>(
  [s.number(), s.boolean(), s.string({ max: 200 }), s.array(s.number(), { max: 16 })],
  'a number, true/false, a string or a list of numbers',
);

const xy = s.object({ x: s.number(), y: s.number() });

const nodeSchema = s.object({
  id: s.string({ min: 1, max: 200 }),
  type: s.refine(s.string({ min: 1, max: 100 }), (t) => (getLayer(t) ? null : `unknown layer type '${t}'`)),
  name: s.string({ min: 1, max: 200 }),
  params: s.optional(s.record(paramValue, { maxKeys: 100 }), {}),
  position: s.optional(xy, { x: 0, y: 0 }),
  trainable: s.optional(s.boolean()),
  group: s.optional(s.string({ min: 1, max: 200 })),
});

const groupSchema = s.object({
  id: s.string({ min: 1, max: 200 }),
  name: s.string({ min: 1, max: 200 }),
  parent: s.optional(s.string({ min: 1, max: 200 })),
  collapsed: s.optional(s.boolean()),
});

const edgeSchema = s.object({
  id: s.string({ min: 1, max: 200 }),
  source: s.string({ min: 1, max: 200 }),
  target: s.string({ min: 1, max: 200 }),
  targetPort: s.optional(s.number({ int: true, min: 0, max: 1000 }), 0),
});

export const graphSchema = s.refine(
  s.object({ nodes: s.array(nodeSchema, { max: 20_000 }), edges: s.array(edgeSchema, { max: 100_000 }), groups: s.optional(s.array(groupSchema, { max: 5_000 })) }),
  (g) => {
    const groupIds = new Set<string>();
    for (const gr of g.groups ?? []) {
      if (groupIds.has(gr.id)) return `two groups share the id '${gr.id}'`;
      groupIds.add(gr.id);
    }
    for (const gr of g.groups ?? []) if (gr.parent !== undefined && !groupIds.has(gr.parent)) return `group '${gr.id}' is inside group '${gr.parent}', which does not exist`;
    const ids = new Set<string>();
    for (const n of g.nodes) {
      if (ids.has(n.id)) return `two nodes share the id '${n.id}'`;
      if (n.group !== undefined && !groupIds.has(n.group)) return `node '${n.id}' is in group '${n.group}', which does not exist`;
      ids.add(n.id);
    }
    for (const e of g.edges) {
      if (!ids.has(e.source)) return `edge '${e.id}' starts at node '${e.source}', which does not exist`;
      if (!ids.has(e.target)) return `edge '${e.id}' ends at node '${e.target}', which does not exist`;
    }
    return null;
  },
);

const projectSchema = s.object({
  format: s.literal(PROJECT_FORMAT),
  version: s.literal(PROJECT_VERSION),
  name: s.string({ max: 200 }),
  description: s.optional(s.string({ max: 10_000 })),
  graph: graphSchema,
  training: s.optional(trainingSettingsSchema, {}),
  dataset: s.optional(s.nullable(s.string({ max: 200 })), null),
  fitToDataset: s.optional(s.boolean()),
});

/**
 * Migrations from older versions, keyed by the version they upgrade *from*. Each takes the raw JSON
 * of version N and returns version N+1. Version 1 is the first, so there are none yet.
 */
export const MIGRATIONS: Record<number, (raw: Record<string, unknown>) => Record<string, unknown>> = {};

export class ProjectFileError extends Error {
  constructor(
    message: string,
    readonly issues: SchemaIssue[] = [],
  ) {
    super(message);
    this.name = 'ProjectFileError';
  }
}

/** Parses project JSON text; throws ProjectFileError with a specific message. Never returns a half-valid project. */
export function parseProjectText(text: string, fileName = 'project'): ProjectFile {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ProjectFileError(`${fileName} is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  return parseProject(raw, fileName);
}

export function parseProject(raw: unknown, fileName = 'project'): ProjectFile {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ProjectFileError(`${fileName} is not a Layerforge project: expected a JSON object`);
  }
  let obj = raw as Record<string, unknown>;
  if (obj.format !== PROJECT_FORMAT) {
    throw new ProjectFileError(`${fileName} is not a Layerforge project: "format" must be "${PROJECT_FORMAT}"`);
  }
  const rawVersion = obj.version;
  if (typeof rawVersion !== 'number' || !Number.isInteger(rawVersion) || rawVersion < 1) {
    throw new ProjectFileError(`${fileName}: "version" must be a positive integer, got ${JSON.stringify(rawVersion)}`);
  }
  let version: number = rawVersion;
  if (version > PROJECT_VERSION) {
    throw new ProjectFileError(
      `${fileName} was written by a newer Layerforge (format version ${version}; this one reads up to ${PROJECT_VERSION}): update Layerforge to open it`,
    );
  }
  while (version < PROJECT_VERSION) {
    const migrate = MIGRATIONS[version];
    if (!migrate) throw new ProjectFileError(`${fileName}: no migration from format version ${version}`);
    obj = migrate(obj);
    version = obj.version as number;
  }
  const result = parse(projectSchema, obj);
  if (!result.ok) {
    const err = new SchemaError(result.issues, fileName);
    throw new ProjectFileError(err.message, result.issues);
  }
  const v = result.value;
  return {
    format: PROJECT_FORMAT,
    version: PROJECT_VERSION,
    name: v.name,
    ...(v.description !== undefined ? { description: v.description } : {}),
    graph: v.graph as Graph,
    training: { ...defaultTrainingSettings(), ...(v.training as Partial<TrainingSettings>) },
    dataset: v.dataset ?? null,
    ...(v.fitToDataset !== undefined ? { fitToDataset: v.fitToDataset } : {}),
  };
}

/** Stable, pretty JSON for saving. */
export function serializeProject(project: ProjectFile): string {
  return `${JSON.stringify(project, null, 2)}\n`;
}

export function newProject(name = 'Untitled', graph: Graph = { nodes: [], edges: [] }): ProjectFile {
  return { format: PROJECT_FORMAT, version: PROJECT_VERSION, name, graph, training: defaultTrainingSettings(), dataset: null };
}
