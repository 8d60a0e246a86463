import { useEffect } from 'react';
import { appContext, handleKeyDown } from '../actions';
import { serializeProject } from '../../../shared/project';
import { documentTitle } from '../../../shared/shell/document';
import { autosave, clearAutosave } from '../project/recovery';
import { graphStore, isDirty, useGraph } from '../store/graphStore';
import { resolvedTheme, uiStore, useUi } from '../store/uiStore';
import { Editor } from './Editor';
import { Dialogs, HelpOverlay, NoticeBar } from './Overlays';
import { StartScreen } from './StartScreen';
import { TopBar } from './TopBar';
import { ExportDialogs } from '../export/ExportDialogs';
import { carriesFiles, openDroppedFiles } from './drop';
import { connectShell, documentOf, getShell } from './shell';

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
    // The browser tab (serve mode) and the desktop window (which mirrors it) show the document and its unsaved mark.
    document.title = documentTitle(documentOf(graphStore.getState()));
  }, [screen, fileName, name, dirty]);

  // Desktop app: menus, files from the OS, the window's title and unsaved mark (absent in a browser).
  useEffect(() => {
    const shell = getShell();
    return shell ? connectShell(shell) : undefined;
  }, []);

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
    // Files dropped anywhere on the window (a layer dragged from the palette is the canvas's own drop).
    const onDragOver = (e: DragEvent) => {
      if (!carriesFiles(e.dataTransfer)) return;
      e.preventDefault();
      e.dataTransfer!.dropEffect = 'copy';
    };
    const onDrop = (e: DragEvent) => {
      if (!carriesFiles(e.dataTransfer)) return;
      e.preventDefault();
      void openDroppedFiles(Array.from(e.dataTransfer!.files), getShell(), appContext);
    };
    window.addEventListener('keydown', onKey);
    window.addEventListener('beforeunload', onBeforeUnload);
    window.addEventListener('dragover', onDragOver);
    window.addEventListener('drop', onDrop);
    const stopAutosave = startAutosave();
    return () => {
      window.removeEventListener('keydown', onKey);
      window.removeEventListener('beforeunload', onBeforeUnload);
      window.removeEventListener('dragover', onDragOver);
      window.removeEventListener('drop', onDrop);
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
