// The translation table: every string the console shows, in English and Japanese. Each area keeps its strings in
// its own file; the types make a missing Japanese string a build error.
import * as common from './common';
import * as events from './events';
import * as trails from './trails';
import * as lake from './lake';
import * as monitoring from './monitoring';

const en = { ...common.en, ...events.en, ...trails.en, ...lake.en, ...monitoring.en };
export type Key = keyof typeof en;
const ja: Record<Key, string> = { ...common.ja, ...events.ja, ...trails.ja, ...lake.ja, ...monitoring.ja };

export type Lang = 'en' | 'ja';
const tables: Record<Lang, Record<Key, string>> = { en, ja };
const STORE = 'cairn.lang';

function initial(): Lang {
  const saved = localStorage.getItem(STORE);
  if (saved === 'en' || saved === 'ja') return saved;
  return navigator.language?.startsWith('ja') ? 'ja' : 'en';
}

let current: Lang = initial();
const listeners = new Set<() => void>();

export function lang(): Lang {
  return current;
}

export function setLang(l: Lang) {
  current = l;
  localStorage.setItem(STORE, l);
  document.documentElement.lang = l;
  listeners.forEach((f) => f());
}

export function onLang(f: () => void): () => void {
  listeners.add(f);
  return () => listeners.delete(f);
}

/** The string for `key` in the current language, with `{name}` placeholders filled from `vars`. */
export function t(key: Key, vars?: Record<string, string | number>): string {
  const s = tables[current][key] ?? en[key];
  return vars ? s.replace(/\{(\w+)\}/g, (_, k) => String(vars[k] ?? `{${k}}`)) : s;
}

/** A time (epoch seconds, milliseconds or ISO text) in the current language, with the UTC offset. */
export function fmtTime(v: number | string | Date | undefined | null): string {
  if (v === undefined || v === null || v === '') return '—';
  const d = v instanceof Date ? v : typeof v === 'number' ? new Date(v < 1e11 ? v * 1000 : v) : new Date(v);
  if (isNaN(d.getTime())) return String(v);
  return new Intl.DateTimeFormat(current === 'ja' ? 'ja-JP' : 'en-US', {
    year: 'numeric',
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    timeZoneName: 'short',
  }).format(d);
}

export function fmtNumber(n: number): string {
  return new Intl.NumberFormat(current === 'ja' ? 'ja-JP' : 'en-US').format(n);
}

export function fmtBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i ? n.toFixed(1) : n} ${units[i]}`;
}
