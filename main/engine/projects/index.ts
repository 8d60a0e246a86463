export { atomicWrite, fsyncDir, removeStaleTemps } from './atomic';
export { backupPathFor, loadProjectFile, MAX_PROJECT_BYTES, ProjectLoadError, ProjectSaveError, saveProjectFile, unreadableReason, type SaveOptions, type SaveResult } from './projectFile';
export { clearRecovery, listRecovery, readRecovery, recoveryDir, recoveryFile, writeRecovery, type RecoveryEntry, type RecoveryOptions } from './recovery';
export { ProjectLibrary, type ProjectDialogs, type ProjectLibraryOptions } from './library';
