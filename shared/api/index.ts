export * from './proxy';
export * from './engine';
export * from './schemas';
export type * from './datasets';
