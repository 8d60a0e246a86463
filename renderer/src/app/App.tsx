import { useEffect } from 'react';
import { appContext, handleKeyDown } from '../actions';
import { serializeProject } from '../../../shared/project';
import { baseName } from '../project/io';
import { autosave, clearAutosave } from '../project/recovery';
import { graphStore, isDirty, useGraph } from '../store/graphStore';
import { resolvedTheme, uiStore, useUi } from '../store/uiStore';
import { Editor } from './Editor';
import { Dialogs, HelpOverlay, NoticeBar } from './Overlays';
import { StartScreen } from './StartScreen';
import { TopBar } from './TopBar';
import { ExportDialogs } from '../export/ExportDialogs';

const AUTOSAVE_MS = 800;

/** Keeps the recovery slot in step with unsaved work; clears it when the work is saved. */
function startAutosave(): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const unsubscribe = graphStore.subscribe((s, prev) => {
    if (s.doc === prev.doc && s.metaVersion === prev.metaVersion && s.savedDoc === prev.savedDoc) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      const now = graphStore.getState();
      if (now.screen !== 'editor') return;
      if (!isDirty(now)) {
        clearAutosave(appContext);
        return;
      }
      autosave(appContext, { fileName: now.fileName, name: now.meta.name, text: serializeProject(now.toProject()) });
    }, AUTOSAVE_MS);
  });
  return () => {
    clearTimeout(timer);
    unsubscribe();
  };
}

export function App() {
  const screen = useGraph((s) => s.screen);
  const theme = useUi(resolvedTheme);
  const fileName = useGraph((s) => s.fileName);
  const name = useGraph((s) => s.meta.name);
  const dirty = useGraph(isDirty);

  useEffect(() => {
    document.documentElement.dataset.theme = theme;
    document.documentElement.style.colorScheme = theme;
  }, [theme]);

  useEffect(() => {
    const mq = matchMedia('(prefers-color-scheme: dark)');
    const onChange = () => uiStore.setState({ systemDark: mq.matches });
    mq.addEventListener('change', onChange);
    return () => mq.removeEventListener('change', onChange);
  }, []);

  useEffect(() => {
    document.title = screen === 'editor' ? `${dirty ? '● ' : ''}${fileName ? baseName(fileName) : name} — Layerforge` : 'Layerforge';
  }, [screen, fileName, name, dirty]);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      handleKeyDown(e);
    };
    const onBeforeUnload = (e: BeforeUnloadEvent) => {
      const s = graphStore.getState();
      if (s.screen === 'editor' && isDirty(s)) {
        e.preventDefault();
        e.returnValue = '';
      }
    };
    window.addEventListener('keydown', onKey);
    window.addEventListener('beforeunload', onBeforeUnload);
    const stopAutosave = startAutosave();
    return () => {
      window.removeEventListener('keydown', onKey);
      window.removeEventListener('beforeunload', onBeforeUnload);
      stopAutosave();
    };
  }, []);

  return (
    <div className="lf-app">
      <TopBar />
      <main className="lf-main">{screen === 'editor' ? <Editor /> : <StartScreen />}</main>
      <NoticeBar />
      <HelpOverlay />
      <Dialogs />
      <ExportDialogs />
    </div>
  );
}
