/** One line of the results table: a measure of the library next to the same measure of a baseline. */
export interface Row {
  scenario: string;
  metric: string;
  unit: string;
  library: number;
  baseline: number;
  baselineName: string;
  /** Lower is better (times, memory) or higher is better (rates). */
  better: 'lower' | 'higher';
  /** `limit` is the value the library had to reach (a maximum, or a minimum for rates). */
  target?: { text: string; met: boolean; limit: number };
}

export interface ScenarioResult {
  rows: Row[];
  /** Raw latency samples (ms) for the chart, by series name. */
  samples?: Record<string, number[]>;
  notes?: string[];
  /** More charts for RESULTS.md, written next to it (scenario 8's connections.svg). */
  charts?: { file: string; alt: string; svg: string }[];
}
