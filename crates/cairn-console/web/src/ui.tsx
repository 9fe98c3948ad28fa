// Shared components: page frame, errors with AWS's code and message, tables, paging, dialogs, side panels, JSON
// with copy, forms, charts, and downloads.
import type { ComponentChildren, JSX } from 'preact';
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { AwsError } from './aws';
import { t, type Key } from './i18n';

export function Page(props: { title: string; actions?: ComponentChildren; children: ComponentChildren; lead?: string }) {
  return (
    <section class="page" aria-labelledby="page-title">
      <header class="page-head">
        <h1 id="page-title">{props.title}</h1>
        {props.actions && <div class="actions">{props.actions}</div>}
      </header>
      {props.lead && <p class="lead">{props.lead}</p>}
      {props.children}
    </section>
  );
}

export function Panel(props: { title?: string; actions?: ComponentChildren; children: ComponentChildren; id?: string }) {
  return (
    <section class="panel" id={props.id}>
      {(props.title || props.actions) && (
        <header class="panel-head">
          {props.title && <h2>{props.title}</h2>}
          {props.actions && <div class="actions">{props.actions}</div>}
        </header>
      )}
      {props.children}
    </section>
  );
}

/** An API failure as AWS reports it: the error code, then the message. */
export function ErrorBox({ error }: { error: unknown }) {
  if (!error) return null;
  const e = error as AwsError;
  const code = e instanceof AwsError ? e.code : (e as Error)?.name ?? 'Error';
  return (
    <div class="alert error" role="alert">
      <strong class="code">{code}</strong>
      <span class="message">{(e as Error)?.message ?? String(error)}</span>
      {e instanceof AwsError && e.requestId && <small class="rid">{t('common.requestId', { id: e.requestId })}</small>}
    </div>
  );
}

export function Spinner({ label }: { label?: string }) {
  return (
    <div class="spinner" role="status" aria-live="polite">
      <span class="dot" aria-hidden="true" />
      {label ?? t('common.loading')}
    </div>
  );
}

/** Loads with `fn` whenever `deps` change; `reload` runs it again. */
export function useLoad<T>(fn: (signal: AbortSignal) => Promise<T>, deps: unknown[]) {
  const [state, setState] = useState<{ data?: T; error?: unknown; loading: boolean }>({ loading: true });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const ctl = new AbortController();
    setState((s) => ({ data: s.data, loading: true }));
    fn(ctl.signal).then(
      (data) => !ctl.signal.aborted && setState({ data, loading: false }),
      (error) => !ctl.signal.aborted && setState({ error, loading: false }),
    );
    return () => ctl.abort();
  }, [...deps, tick]);
  return { ...state, reload: () => setTick((n) => n + 1) };
}

export interface Column<R> {
  key: string;
  label: string;
  render: (row: R) => ComponentChildren;
  class?: string;
}

export function Table<R>(props: {
  columns: Column<R>[];
  rows: R[];
  rowKey: (r: R, i: number) => string;
  onOpen?: (r: R) => void;
  selected?: string;
  caption?: string;
  empty?: string;
}) {
  if (!props.rows.length) return <p class="empty">{props.empty ?? t('common.empty')}</p>;
  return (
    <div class="table-wrap">
      <table>
        {props.caption && <caption class="sr-only">{props.caption}</caption>}
        <thead>
          <tr>
            {props.columns.map((c) => (
              <th scope="col" key={c.key} class={c.class}>
                {c.label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {props.rows.map((r, i) => {
            const k = props.rowKey(r, i);
            const open = props.onOpen;
            return (
              <tr
                key={k}
                class={(open ? 'clickable ' : '') + (props.selected === k ? 'selected' : '')}
                tabIndex={open ? 0 : undefined}
                onClick={open ? () => open(r) : undefined}
                onKeyDown={open ? (e) => (e.key === 'Enter' || e.key === ' ') && (e.preventDefault(), open(r)) : undefined}
              >
                {props.columns.map((c) => (
                  <td key={c.key} class={c.class} data-label={c.label}>
                    {c.render(r)}
                  </td>
                ))}
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

/** Previous/next buttons; both wait while a page loads (`busy`), so a double click cannot skip a page. */
export function Pager(props: { page: number; hasPrev: boolean; hasNext: boolean; onPrev: () => void; onNext: () => void; busy?: boolean }) {
  return (
    <nav class="pager" aria-label={t('common.pagination')}>
      <button type="button" disabled={!props.hasPrev || props.busy} onClick={props.onPrev}>
        ‹ {t('common.previous')}
      </button>
      <span aria-live="polite">{t('common.page', { n: props.page })}</span>
      <button type="button" disabled={!props.hasNext || props.busy} onClick={props.onNext}>
        {t('common.next')} ›
      </button>
    </nav>
  );
}

/**
 * Token paging: keeps the tokens of earlier pages so that Previous goes back. A new `resetKey` (the search's
 * filters) starts again at page 1 in the same render, so no request pairs new filters with an old token.
 */
export function useTokenPages(resetKey = '') {
  const [state, setState] = useState<{ key: string; tokens: (string | undefined)[] }>({ key: resetKey, tokens: [undefined] });
  const tokens = state.key === resetKey ? state.tokens : [undefined];
  const update = (f: (ts: (string | undefined)[]) => (string | undefined)[]) =>
    setState((s) => ({ key: resetKey, tokens: f(s.key === resetKey ? s.tokens : [undefined]) }));
  return {
    page: tokens.length,
    token: tokens[tokens.length - 1],
    next: (token: string) => update((ts) => [...ts, token]),
    prev: () => update((ts) => (ts.length > 1 ? ts.slice(0, -1) : ts)),
    reset: () => update(() => [undefined]),
  };
}

/** Open dialogs and panels, innermost last: Escape closes only the innermost. */
const escapes: (() => void)[] = [];
addEventListener('keydown', (e) => {
  if (e.key === 'Escape' && escapes.length) {
    e.preventDefault();
    escapes[escapes.length - 1]();
  }
});

function useEscape(onClose: () => void) {
  const latest = useRef(onClose);
  latest.current = onClose;
  // Registered as the dialog is committed (not after paint), so an Escape right after it opens closes it.
  useLayoutEffect(() => {
    const f = () => latest.current();
    escapes.push(f);
    return () => void escapes.splice(escapes.indexOf(f), 1);
  }, []);
}

const FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

/** Keeps Tab and Shift+Tab inside `root` (a modal dialog). */
function trapFocus(e: KeyboardEvent, root: HTMLElement | null) {
  if (e.key !== 'Tab' || !root) return;
  const items = Array.from(root.querySelectorAll<HTMLElement>(FOCUSABLE));
  if (!items.length) return;
  const [first, last] = [items[0], items[items.length - 1]];
  if (e.shiftKey && document.activeElement === first) {
    e.preventDefault();
    last.focus();
  } else if (!e.shiftKey && document.activeElement === last) {
    e.preventDefault();
    first.focus();
  }
}

/** A modal dialog: focus moves into it, Escape closes it, focus returns where it was. */
export function Modal(props: { title: string; onClose: () => void; children: ComponentChildren; footer?: ComponentChildren }) {
  const ref = useRef<HTMLDivElement>(null);
  useEscape(props.onClose);
  useEffect(() => {
    const before = document.activeElement as HTMLElement | null;
    const first = ref.current?.querySelector<HTMLElement>('input, select, textarea, button:not(.close)');
    (first ?? ref.current)?.focus();
    return () => before?.focus();
  }, []);
  return (
    <div class="backdrop" onClick={(e) => e.target === e.currentTarget && props.onClose()}>
      <div class="modal" role="dialog" aria-modal="true" aria-labelledby="modal-title" ref={ref} tabIndex={-1} onKeyDown={(e) => trapFocus(e, ref.current)}>
        <header>
          <h2 id="modal-title">{props.title}</h2>
          <button type="button" class="close" aria-label={t('common.close')} onClick={props.onClose}>
            ×
          </button>
        </header>
        <div class="modal-body">{props.children}</div>
        {props.footer && <footer>{props.footer}</footer>}
      </div>
    </div>
  );
}

/** A panel at the side of the page (full screen on a phone). */
export function SidePanel(props: { title: string; onClose: () => void; children: ComponentChildren }) {
  const ref = useRef<HTMLElement>(null);
  const opener = useRef(document.activeElement as HTMLElement | null);
  useEscape(props.onClose);
  useEffect(() => ref.current?.focus(), [props.title]);
  // Closing returns focus to what opened the panel (the table row), so the keyboard keeps its place.
  useEffect(() => () => opener.current?.focus(), []);
  return (
    <aside class="side-panel" role="complementary" aria-label={props.title} ref={ref} tabIndex={-1}>
      <header>
        <h2>{props.title}</h2>
        <button type="button" class="close" aria-label={t('common.close')} onClick={props.onClose}>
          ×
        </button>
      </header>
      <div class="side-body">{props.children}</div>
    </aside>
  );
}

let fieldSeq = 0;

/** A labelled form control: the label points at the first control inside. */
export function Field(props: { label: string; hint?: string; children: JSX.Element; optional?: boolean }) {
  const id = useRef(`f${++fieldSeq}`).current;
  const child = props.children;
  const control = { ...child, props: { ...child.props, id: child.props.id ?? id, 'aria-describedby': props.hint ? id + 'h' : undefined } };
  return (
    <div class="field">
      <label for={control.props.id}>
        {props.label}
        {props.optional && <em> — {t('common.optional')}</em>}
      </label>
      {control}
      {props.hint && (
        <small id={id + 'h'} class="hint">
          {props.hint}
        </small>
      )}
    </div>
  );
}

export function Check(props: { label: string; checked: boolean; onChange: (v: boolean) => void; hint?: string; disabled?: boolean }) {
  return (
    <label class="check">
      <input type="checkbox" checked={props.checked} disabled={props.disabled} onChange={(e) => props.onChange(e.currentTarget.checked)} />
      <span>
        {props.label}
        {props.hint && <small class="hint">{props.hint}</small>}
      </span>
    </label>
  );
}

export function Badge(props: { tone: 'ok' | 'warn' | 'bad' | 'info' | 'off'; children: ComponentChildren }) {
  return <span class={`badge ${props.tone}`}>{props.children}</span>;
}

export function KeyValues(props: { items: [string, ComponentChildren][] }) {
  return (
    <dl class="kv">
      {props.items.map(([k, v]) => (
        <div key={k}>
          <dt>{k}</dt>
          <dd>{v === undefined || v === null || v === '' ? '—' : v}</dd>
        </div>
      ))}
    </dl>
  );
}

export function CopyButton({ text }: { text: string }) {
  const [done, setDone] = useState(false);
  return (
    <button
      type="button"
      onClick={async () => {
        await navigator.clipboard?.writeText(text).catch(() => undefined);
        setDone(true);
        setTimeout(() => setDone(false), 1500);
      }}
    >
      {done ? t('common.copied') : t('common.copy')}
    </button>
  );
}

/** JSON, indented and lightly highlighted, with a copy button. */
export function JsonView({ value }: { value: unknown }) {
  const text = typeof value === 'string' ? prettyJson(value) : JSON.stringify(value, null, 2);
  return (
    <div class="json">
      <div class="json-tools">
        <CopyButton text={text} />
      </div>
      <pre tabIndex={0}>
        <code>{highlightJson(text)}</code>
      </pre>
    </div>
  );
}

function prettyJson(s: string): string {
  try {
    return JSON.stringify(JSON.parse(s), null, 2);
  } catch {
    return s;
  }
}

function highlightJson(text: string): ComponentChildren[] {
  const out: ComponentChildren[] = [];
  const re = /("(?:\\.|[^"\\])*")(\s*:)?|\b(true|false|null)\b|(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/g;
  let last = 0;
  for (let m; (m = re.exec(text)); ) {
    if (m.index > last) out.push(text.slice(last, m.index));
    if (m[1]) {
      out.push(<span class={m[2] ? 'j-key' : 'j-str'}>{m[1]}</span>);
      if (m[2]) out.push(m[2]);
    } else if (m[3]) out.push(<span class="j-lit">{m[3]}</span>);
    else out.push(<span class="j-num">{m[4]}</span>);
    last = re.lastIndex;
  }
  out.push(text.slice(last));
  return out;
}

/** Saves `content` as a file named `name`. */
export function download(name: string, type: string, content: BlobPart[]) {
  const url = URL.createObjectURL(new Blob(content, { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/**
 * One CSV line (RFC 4180 quoting). A text cell that a spreadsheet would run as a formula (it starts with =, +, -, @,
 * tab or carriage return and is not a number) gets a leading apostrophe, as OWASP advises: event fields come from
 * any caller.
 */
export function csvLine(cells: (string | number | undefined | null)[]): string {
  return (
    cells
      .map((c) => {
        let s = c === undefined || c === null ? '' : String(c);
        if (/^[=+\-@\t\r]/.test(s) && !(typeof c === 'number' || /^[+-]?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(s))) s = "'" + s;
        return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
      })
      .join(',') + '\r\n'
  );
}

/** The options of a select whose choices are (value, translated label, ...) tuples. */
export function Options({ items }: { items: readonly [string, Key, ...unknown[]][] }) {
  return (
    <>
      {items.map(([value, label]) => (
        <option key={value} value={value}>
          {t(label)}
        </option>
      ))}
    </>
  );
}

export const yesNo = (v?: boolean) => (v ? t('common.yes') : t('common.no'));

export interface Series {
  label: string;
  points: [number, number][];
}

const PALETTE = ['var(--c1)', 'var(--c2)', 'var(--c3)', 'var(--c4)', 'var(--c5)'];

/** A line chart of time series (x: epoch milliseconds) over `domain` (default: the data's span), with an optional
 * threshold line. */
export function TimeChart(props: { series: Series[]; threshold?: number; height?: number; label: string; domain?: [number, number] }) {
  const W = 640;
  const H = props.height ?? 200;
  const pad = { l: 48, r: 12, t: 10, b: 24 };
  const all = props.series.flatMap((s) => s.points);
  if (!all.length) return <p class="empty">{t('common.empty')}</p>;
  const xs = all.map((p) => p[0]);
  const ys = all.map((p) => p[1]).concat(props.threshold !== undefined ? [props.threshold] : []);
  const x0 = props.domain?.[0] ?? Math.min(...xs);
  const x1 = Math.max(props.domain?.[1] ?? Math.max(...xs), x0 + 1);
  const y0 = Math.min(0, ...ys);
  const y1 = Math.max(...ys, y0 + 1) * 1.1;
  const sx = (x: number) => pad.l + ((x - x0) / (x1 - x0)) * (W - pad.l - pad.r);
  const sy = (y: number) => H - pad.b - ((y - y0) / (y1 - y0)) * (H - pad.t - pad.b);
  const ticks = [y0, (y0 + y1) / 2, y1];
  const fmt = (ms: number) => new Date(ms).toISOString().slice(11, 16);
  return (
    <figure class="chart">
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={props.label}>
        {ticks.map((v) => (
          <g key={v}>
            <line x1={pad.l} x2={W - pad.r} y1={sy(v)} y2={sy(v)} class="grid" />
            <text x={pad.l - 6} y={sy(v) + 4} text-anchor="end" class="axis">
              {Number.isInteger(v) ? v : v.toFixed(1)}
            </text>
          </g>
        ))}
        <text x={pad.l} y={H - 6} class="axis">
          {fmt(x0)}
        </text>
        <text x={W - pad.r} y={H - 6} text-anchor="end" class="axis">
          {fmt(x1)}
        </text>
        {props.threshold !== undefined && (
          <line x1={pad.l} x2={W - pad.r} y1={sy(props.threshold)} y2={sy(props.threshold)} class="threshold" />
        )}
        {props.series.map((s, i) => {
          const pts = [...s.points].sort((a, b) => a[0] - b[0]);
          return (
            <g key={s.label} style={{ color: PALETTE[i % PALETTE.length] }}>
              <polyline fill="none" stroke="currentColor" stroke-width="2" points={pts.map((p) => `${sx(p[0])},${sy(p[1])}`).join(' ')} />
              {pts.length < 60 && pts.map((p) => <circle key={p[0]} cx={sx(p[0])} cy={sy(p[1])} r="2.5" fill="currentColor" />)}
            </g>
          );
        })}
      </svg>
      {props.series.length > 1 && (
        <figcaption class="legend">
          {props.series.map((s, i) => (
            <span key={s.label}>
              <i style={{ background: PALETTE[i % PALETTE.length] }} /> {s.label}
            </span>
          ))}
        </figcaption>
      )}
    </figure>
  );
}

/** Horizontal bars for top-N answers. */
export function BarChart(props: { rows: [string, number][]; label: string }) {
  if (!props.rows.length) return <p class="empty">{t('common.empty')}</p>;
  const max = Math.max(...props.rows.map((r) => r[1]), 1);
  return (
    <figure class="bars" role="img" aria-label={props.label}>
      {props.rows.map(([name, v]) => (
        <div class="bar-row" key={name}>
          <span class="bar-label" title={name}>
            {name}
          </span>
          <span class="bar">
            <i style={{ width: `${(v / max) * 100}%` }} />
          </span>
          <span class="bar-value">{v}</span>
        </div>
      ))}
    </figure>
  );
}

/** A tab strip whose tabs are links (so they are addressable). */
export function Tabs(props: { tabs: [string, Key][]; current: string; hrefOf: (id: string) => string }) {
  return (
    <nav class="tabs">
      {props.tabs.map(([id, label]) => (
        <a key={id} aria-current={props.current === id ? 'page' : undefined} class={props.current === id ? 'active' : ''} href={props.hrefOf(id)}>
          {t(label)}
        </a>
      ))}
    </nav>
  );
}
