// Time ranges of the search pages (event history, log events): presets counted back from the moment the search was
// applied, or custom bounds from datetime-local fields. Every page of one search uses the same bounds, since the
// APIs tie their pagination tokens to them.

/** Seconds each preset reaches back. */
export const RANGE_SECONDS: Record<string, number> = { '5m': 300, '1h': 3600, '12h': 43_200, '1d': 86_400, '7d': 604_800 };

/**
 * The bounds (epoch milliseconds) `range` selects: a preset counted back from `at` (the time the search was applied,
 * in epoch milliseconds), or `custom` with `from`/`to` (datetime-local text, either may be empty); none otherwise.
 */
export function rangeBounds(range: string, from: string, to: string, at: number): { start?: number; end?: number } {
  const span = RANGE_SECONDS[range];
  if (span) return { start: at - span * 1000 };
  if (range !== 'custom') return {};
  const ms = (s: string) => (s ? new Date(s).getTime() : undefined);
  return { start: ms(from), end: ms(to) };
}
