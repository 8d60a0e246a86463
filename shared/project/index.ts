export * from './format';
export * from './training';
