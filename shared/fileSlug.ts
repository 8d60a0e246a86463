/** A file-name-safe slug: "Run 3 (Adam)" -> "run-3-adam" (accents dropped, at most 60 characters); `fallback` when nothing is left. */
export function fileSlug(text: string, fallback: string): string {
  return (
    text
      .toLowerCase()
      .normalize('NFKD')
      .replace(/[\u0300-\u036f]/g, '')
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 60) || fallback
  );
}
