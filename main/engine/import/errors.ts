/** An import that cannot be done: `layers` names every layer / operator at fault (empty for file-level problems). */
export class ModelImportError extends Error {
  constructor(
    message: string,
    readonly layers: { name: string; className: string; reason: string }[] = [],
  ) {
    super(message);
    this.name = 'ModelImportError';
  }
}
