import { analyzeGraph } from '../../../../shared/graph';
import { ModelImportError } from '../errors';
import type { ImportResult } from '../types';

/** The original Keras layer name of each imported node (ImportResult.renamed reversed), node name -> Keras name. */
export function kerasNames(result: ImportResult): Map<string, string> {
  const back = new Map<string, string>();
  for (const [keras, node] of Object.entries(result.renamed)) back.set(node, keras);
  return new Map(result.project.graph.nodes.map((n) => [n.name, back.get(n.name) ?? n.name]));
}

/**
 * The layer a stored weight belongs to, from its name: 'dense_1/kernel', 'dense_1/kernel:0',
 * 'lstm/lstm_cell/kernel', nested 'mobilenet/conv1/kernel', Bidirectional 'bi/forward_lstm/…'. The first
 * (outermost) run of path components that names an imported layer wins; undefined when none does.
 */
export function weightLayer(weightName: string, layers: ReadonlySet<string>): string | undefined {
  const parts = weightName.replace(/:\d+$/, '').split('/');
  for (let start = 0; start < parts.length - 1; start++) {
    for (let end = parts.length - 1; end > start; end--) {
      const candidate = parts.slice(start, end).join('/');
      if (layers.has(candidate)) return candidate;
    }
  }
  return undefined;
}

/**
 * Checks the imported graph's parameter total against the one the source states (`perLayer`: stored
 * weight counts by Keras layer name, plus `unplaced` for weights no layer name matched). A mismatch is a
 * ModelImportError naming each layer whose count differs.
 */
export function checkSourceParams(result: ImportResult, perLayer: Map<string, number>, unplaced: string[] = []): void {
  if (result.sourceParams === undefined) return;
  const analysis = analyzeGraph(result.project.graph);
  const total = analysis.totals.params;
  if (total === result.sourceParams) return;
  const names = kerasNames(result);
  const diffs: { name: string; className: string; reason: string }[] = [];
  for (const n of result.project.graph.nodes) {
    const keras = names.get(n.name)!;
    const mine = analysis.nodes[n.id]?.params ?? 0;
    const theirs = perLayer.get(keras) ?? 0;
    if (mine !== theirs) diffs.push({ name: keras, className: n.type, reason: `${theirs.toLocaleString('en')} parameters in the file, ${mine.toLocaleString('en')} in the imported layer` });
  }
  const list = diffs.map((d) => `${d.name} (${d.className}): ${d.reason}`);
  if (unplaced.length) list.push(`weights that name no layer of the model: ${unplaced.slice(0, 5).join(', ')}${unplaced.length > 5 ? `, … (${unplaced.length})` : ''}`);
  throw new ModelImportError(
    `the imported graph has ${total.toLocaleString('en')} parameters but the file's weights hold ${result.sourceParams.toLocaleString('en')}${list.length ? `: ${list.join('; ')}` : ''}`,
    diffs,
  );
}
