/** A small warning badge on a canvas node when its layer's training health is poor (vanishing or exploding gradients, dead units); the tooltip says it in plain words. */
import { memo } from 'react';
import { useNodeWarnings } from './insightStore';

const SHORT: Record<string, string> = {
  'vanishing-gradients': 'vanishing gradients',
  'exploding-gradients': 'exploding gradients',
  'dead-units': 'dead units',
};

export const HealthBadge = memo(function HealthBadge({ nodeId }: { nodeId: string }) {
  const warnings = useNodeWarnings(nodeId);
  if (warnings.length === 0) return null;
  const text = warnings.map((w) => w.message).join('\n');
  return (
    <span className="lf-node-health" title={text} role="img" aria-label={`Training health: ${warnings.map((w) => SHORT[w.kind] ?? w.kind).join(', ')}`} data-testid="insight-health" data-kinds={warnings.map((w) => w.kind).join(' ')}>
      ⚠
    </span>
  );
});
