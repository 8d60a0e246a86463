/** The export/import dialogs, one at a time (mounted by App). */
import './export.css';
import { ImageExportDialog } from './ImageExportDialog';
import { ImportModelDialog } from './ImportModelDialog';
import { ModelExportDialog } from './ModelExportDialog';
import { useExportUi } from './store';

export function ExportDialogs() {
  const open = useExportUi((s) => s.open);
  if (open === 'image') return <ImageExportDialog />;
  if (open === 'model') return <ModelExportDialog />;
  if (open === 'import') return <ImportModelDialog />;
  return null;
}
