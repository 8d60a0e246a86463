import { useEffect, useState } from 'react';
import { ReactFlowProvider } from '@xyflow/react';
import { Canvas } from '../canvas/Canvas';
import { Inspector } from '../canvas/Inspector';
import { Palette } from '../canvas/Palette';
import { TrainingPanel } from '../training/TrainingPanel';
import { uiStore, useUi } from '../store/uiStore';

export function Editor() {
  const tab = useUi((s) => s.rightTab);
  const paletteOpen = useUi((s) => s.paletteOpen);
  const sideOpen = useUi((s) => s.inspectorOpen);
  // The training panel mounts on first visit and then stays mounted (hidden), so a run's live view survives tab switches.
  const [trainSeen, setTrainSeen] = useState(tab === 'train');
  // Actions (Train, Dashboard, Import Dataset…) switch to the tab too.
  useEffect(() => {
    if (tab === 'train') setTrainSeen(true);
  }, [tab]);
  const show = (t: 'inspect' | 'train') => {
    if (t === 'train') setTrainSeen(true);
    uiStore.setState({ rightTab: t });
  };
  // View > Layer Palette / Inspector Panel: a hidden side panel gives its column to the canvas.
  const columns = `${paletteOpen ? '224px ' : ''}minmax(0, 1fr)${sideOpen ? ' 340px' : ''}`;
  return (
    <ReactFlowProvider>
      <div className="lf-editor" data-testid="editor" style={{ gridTemplateColumns: columns }}>
        {paletteOpen && <Palette />}
        <Canvas />
        {/* Hidden, not unmounted: a run's live view and the inspector's state survive. */}
        <aside className="lf-side" data-testid="side-panel" style={sideOpen ? undefined : { display: 'none' }}>
          <div className="lf-tabs" role="tablist">
            <button role="tab" aria-selected={tab === 'inspect'} className={`lf-tab${tab === 'inspect' ? ' on' : ''}`} data-testid="tab-inspect" onClick={() => show('inspect')}>
              Inspector
            </button>
            <button role="tab" aria-selected={tab === 'train'} className={`lf-tab${tab === 'train' ? ' on' : ''}`} data-testid="tab-train" onClick={() => show('train')}>
              Train
            </button>
          </div>
          <div className="lf-side-body" hidden={tab !== 'inspect'}>
            <Inspector />
          </div>
          {trainSeen && (
            <div className="lf-side-body" hidden={tab !== 'train'} data-testid="train-panel">
              <TrainingPanel />
            </div>
          )}
        </aside>
      </div>
    </ReactFlowProvider>
  );
}
