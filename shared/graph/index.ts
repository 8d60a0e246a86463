export * from './types';
export * from './analyze';
