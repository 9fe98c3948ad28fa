// Time ranges of the search pages (event history, log events): presets counted back from the moment the search was
// applied, or custom bounds from datetime-local fields, and the fields that choose them. Every page of one search
// uses the same bounds, since the APIs tie their pagination tokens to them.
import { t, type Key } from './i18n';
import { Field, Options } from './ui';

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

/** The range select, and the From/To fields when the range is `custom`. */
export function RangeFields(props: {
  label: string;
  options: [string, Key][];
  range: string;
  from: string;
  to: string;
  onChange: (field: 'range' | 'from' | 'to', value: string) => void;
}) {
  const on = (field: 'range' | 'from' | 'to') => (e: Event) => props.onChange(field, (e.currentTarget as HTMLInputElement).value);
  return (
    <>
      <Field label={props.label}>
        <select name="range" value={props.range} onChange={on('range')}>
          <Options items={props.options} />
        </select>
      </Field>
      {props.range === 'custom' && (
        <>
          <Field label={t('common.from')}>
            <input type="datetime-local" name="from" value={props.from} onInput={on('from')} />
          </Field>
          <Field label={t('common.to')}>
            <input type="datetime-local" name="to" value={props.to} onInput={on('to')} />
          </Field>
        </>
      )}
    </>
  );
}
