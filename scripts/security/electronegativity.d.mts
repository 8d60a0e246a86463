/** Types of scripts/security/electronegativity.mjs (for its tests). */
export interface Justification {
  check: string;
  file: string;
  sample?: string;
  reason: string;
}
export type Finding = Record<string, string>;
export const EXCLUDED_CHECKS: string[];
export const JUSTIFIED: Justification[];
export function parseCsv(text: string): Finding[];
export function evaluate(
  findings: Finding[],
  justified?: Justification[],
): { informational: Finding[]; justified: (Finding & { reason: string })[]; failing: (Finding & { why?: string })[]; unused: Justification[] };
export function main(argv?: string[]): number;
