export * from './proxy';
export * from './engine';
export * from './schemas';
export type * from './datasets';
export * from './projects';
