import type { Distribution, Figure } from '../report/results';

/** What measuring one figure yields: its row(s), chart data and the scripts of its limit. */
export interface FigureOutput {
  figures: Figure[];
  distributions?: Record<string, Distribution>;
  scripts?: Record<string, string>;
}
