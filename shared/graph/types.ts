import type { ParamValue, Shape } from '../layers';

export interface XY {
  x: number;
  y: number;
}

export interface GraphNode {
  /** Stable id, never shown; edges refer to it. */
  id: string;
  /** Registry type, e.g. 'Conv2D'. */
  type: string;
  /** User-visible unique name, also the tfjs layer name, e.g. 'conv2d_1'. */
  name: string;
  params: Record<string, ParamValue>;
  /** Canvas position; part of the document (moving a node is an undoable edit). */
  position: XY;
  /**
   * False freezes the node's weights (fine-tuning: an imported base kept as it is while a new head
   * trains). Absent means trainable. Nodes without weights ignore it.
   */
  trainable?: boolean;
  /** Id of the NodeGroup the node belongs to (an imported nested model), if any. */
  group?: string;
}

/**
 * A named set of nodes kept together on the canvas: a nested Keras model (a `Functional` inside a
 * `Sequential`, an application used as a base) imported flattened. The canvas can collapse it to one box.
 * Groups nest through `parent` (an application inside a model inside a model).
 */
export interface NodeGroup {
  id: string;
  /** Shown on the canvas: the nested model's name, e.g. 'mobilenetv2_1.00_224'. */
  name: string;
  /** The enclosing group, for nested models within nested models. */
  parent?: string;
  /** Drawn as one box (a view state saved with the document). */
  collapsed?: boolean;
}

export interface GraphEdge {
  id: string;
  source: string;
  target: string;
  /** Input port of the target, 0-based (Add has 2+, attention has query=0 and key/value=1). */
  targetPort: number;
}

export interface Graph {
  nodes: GraphNode[];
  edges: GraphEdge[];
  /** Node groups (absent or empty in graphs drawn by hand). */
  groups?: NodeGroup[];
}

export type ProblemCode =
  | 'unknown-type'
  | 'bad-param'
  | 'missing-input'
  | 'extra-input'
  | 'port-taken'
  | 'cycle'
  | 'shape'
  | 'unreachable'
  | 'no-input'
  | 'no-output'
  | 'duplicate-name'
  | 'bad-name'
  | 'dangling-edge'
  /** The output does not fit the dataset's task (shared/tasks). */
  | 'task';

export interface Problem {
  code: ProblemCode;
  /** Full message, starting with the node name where there is one: "conv2d_3: kernelSize 7 is larger than its 5x5 input". */
  message: string;
  nodeId?: string;
  edgeId?: string;
  field?: string;
  severity: 'error' | 'warning';
}

export interface NodeInfo {
  /** Output shape, or undefined when it cannot be known (bad params, missing inputs, upstream errors). */
  shape?: Shape;
  params: number;
  flops: number;
  /** Bytes of this node's output activation for one sample (float32). */
  activationBytes: number;
}

export interface GraphTotals {
  params: number;
  flops: number;
  activationBytes: number;
}

export interface Analysis {
  /** Node ids in topological order (only nodes not in a cycle). */
  order: string[];
  nodes: Record<string, NodeInfo>;
  problems: Problem[];
  totals: GraphTotals;
  /** Ids of Input nodes and of output (sink) nodes. */
  inputs: string[];
  outputs: string[];
  /** True when there is no error-severity problem. */
  valid: boolean;
}
