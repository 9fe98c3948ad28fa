// Helpers the monitoring pages share: JSON detection in log messages and durations in words.
import { t } from '../../i18n';

/** The message parsed, when it is a JSON object or array. */
export function jsonOf(message: string): unknown {
  const s = message.trim();
  if (!s.startsWith('{') && !s.startsWith('[')) return undefined;
  try {
    return JSON.parse(s);
  } catch {
    return undefined;
  }
}

/** A number of seconds in the largest whole unit: "5 minutes", "1 hour", "1 day". */
export function fmtDuration(seconds: number): string {
  if (seconds % 86400 === 0) return seconds === 86400 ? t('mon.dur.day') : t('mon.dur.days', { n: seconds / 86400 });
  if (seconds % 3600 === 0) return seconds === 3600 ? t('mon.dur.hour') : t('mon.dur.hours', { n: seconds / 3600 });
  if (seconds % 60 === 0) return seconds === 60 ? t('mon.dur.minute') : t('mon.dur.minutes', { n: seconds / 60 });
  return t('mon.dur.seconds', { n: seconds });
}
