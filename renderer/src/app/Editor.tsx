import { useState } from 'react';
import { ReactFlowProvider } from '@xyflow/react';
import { Canvas } from '../canvas/Canvas';
import { Inspector } from '../canvas/Inspector';
import { Palette } from '../canvas/Palette';
import { TrainingPanel } from '../training/TrainingPanel';
import { uiStore, useUi } from '../store/uiStore';

export function Editor() {
  const tab = useUi((s) => s.rightTab);
  // The training panel mounts on first visit and then stays mounted (hidden), so a run's live view survives tab switches.
  const [trainSeen, setTrainSeen] = useState(tab === 'train');
  const show = (t: 'inspect' | 'train') => {
    if (t === 'train') setTrainSeen(true);
    uiStore.setState({ rightTab: t });
  };
  return (
    <ReactFlowProvider>
      <div className="lf-editor" data-testid="editor">
        <Palette />
        <Canvas />
        <aside className="lf-side">
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
