// Event history: LookupEvents by one of the eight lookup attributes and a time range, 50 events a page newest first,
// an event's record in a side panel, and the filtered events downloaded as CSV or JSON (up to 200,000).
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { cloudtrail } from '../aws';
import { fmtNumber, fmtTime, t, type Key } from '../i18n';
import { RANGE_SECONDS, RangeFields, rangeBounds } from '../ranges';
import { ErrorBox, Field, JsonView, KeyValues, Page, Pager, SidePanel, Spinner, Table, csvLine, download, useTokenPages } from '../ui';

const ATTRIBUTES = ['EventName', 'Username', 'ResourceType', 'ResourceName', 'EventSource', 'EventId', 'ReadOnly', 'AccessKeyId'] as const;
const RANGES: [string, Key][] = [
  ['all', 'events.range.all'],
  ['1h', 'events.range.1h'],
  ['12h', 'events.range.12h'],
  ['1d', 'events.range.1d'],
  ['7d', 'events.range.7d'],
  ['custom', 'events.range.custom'],
];
const PAGE = 50;
const DOWNLOAD_LIMIT = 200_000;

export interface TrailEvent {
  EventId: string;
  EventName: string;
  ReadOnly?: string;
  AccessKeyId?: string;
  EventTime: number;
  EventSource: string;
  Username?: string;
  Resources?: { ResourceType?: string; ResourceName?: string }[];
  CloudTrailEvent: string;
}

interface Filters {
  /** Management or Insights events. */
  category: string;
  key: string;
  value: string;
  range: string;
  from: string;
  to: string;
  /** When a preset range was applied (epoch ms): every page and the download count back from it. */
  at: string;
}

function filtersOf(q: URLSearchParams): Filters {
  const get = (k: string, d = '') => q.get(k) ?? d;
  return { category: get('category', 'management'), key: get('key'), value: get('value'), range: get('range', 'all'), from: get('from'), to: get('to'), at: get('at') };
}

/** The LookupEvents input for the filters (without paging). */
function lookupInput(f: Filters): Record<string, unknown> {
  const input: Record<string, unknown> = {};
  if (f.category === 'insight') input.EventCategory = 'insight';
  if (f.key && f.value) input.LookupAttributes = [{ AttributeKey: f.key, AttributeValue: f.value }];
  const { start, end } = rangeBounds(f.range, f.from, f.to, Number(f.at) || Date.now());
  if (start !== undefined) input.StartTime = Math.floor(start / 1000);
  if (end !== undefined) input.EndTime = Math.floor(end / 1000);
  return input;
}

function resourceCells(e: TrailEvent): [string, string] {
  const rs = e.Resources ?? [];
  return [rs.map((r) => r.ResourceType ?? '').filter(Boolean).join(', '), rs.map((r) => r.ResourceName ?? '').filter(Boolean).join(', ')];
}

function parse(e: TrailEvent): Record<string, any> {
  try {
    return JSON.parse(e.CloudTrailEvent);
  } catch {
    return {};
  }
}

export function EventHistory({ query }: { query: URLSearchParams }) {
  const applied = filtersOf(query);
  const [draft, setDraft] = useState<Filters>(applied);
  const key = query.toString();
  const pages = useTokenPages(key);
  const [state, setState] = useState<{ events?: TrailEvent[]; next?: string; error?: unknown; loading: boolean }>({ loading: true });
  const [open, setOpen] = useState<TrailEvent | null>(null);
  const answeredAt = useRef(0);

  useEffect(() => setDraft(applied), [key]);

  useEffect(() => {
    const ctl = new AbortController();
    setState((s) => ({ ...s, loading: true, error: undefined }));
    cloudtrail('LookupEvents', { ...lookupInput(applied), MaxResults: PAGE, NextToken: pages.token }, ctl.signal).then(
      (r) => {
        answeredAt.current = performance.now();
        setState({ events: r.Events ?? [], next: r.NextToken, loading: false });
      },
      (error) => !ctl.signal.aborted && setState({ error, loading: false }),
    );
    return () => ctl.abort();
  }, [key, pages.token]);

  // How long a page takes to render once the API has answered (read by the console benchmark).
  useLayoutEffect(() => {
    if (!answeredAt.current || !state.events) return;
    const start = answeredAt.current;
    answeredAt.current = 0;
    requestAnimationFrame(() => performance.measure('cairn:events-render', { start, end: performance.now() }));
  }, [state.events]);

  const apply = (e?: Event) => {
    e?.preventDefault();
    const q = new URLSearchParams();
    const f = { ...draft, at: RANGE_SECONDS[draft.range] ? String(Date.now()) : '' };
    if (draft.range !== 'custom') Object.assign(f, { from: '', to: '' });
    Object.entries(f).forEach(([k, v]) => v && !(k === 'range' && v === 'all') && !(k === 'category' && v === 'management') && q.set(k, v));
    if (!draft.value) q.delete('key');
    location.hash = '#/events' + (q.toString() ? '?' + q : '');
  };
  const set = (k: keyof Filters) => (e: Event) => setDraft({ ...draft, [k]: (e.currentTarget as HTMLInputElement).value });

  const columns = [
    { key: 'name', label: t('events.col.name'), render: (e: TrailEvent) => <button type="button" class="link" tabIndex={-1}>{e.EventName}</button> },
    { key: 'time', label: t('events.col.time'), render: (e: TrailEvent) => fmtTime(e.EventTime), class: 'nowrap' },
    { key: 'user', label: t('events.col.user'), render: (e: TrailEvent) => e.Username ?? '—' },
    { key: 'source', label: t('events.col.source'), render: (e: TrailEvent) => e.EventSource },
    { key: 'rtype', label: t('events.col.resourceType'), render: (e: TrailEvent) => resourceCells(e)[0] || '—' },
    { key: 'rname', label: t('events.col.resourceName'), render: (e: TrailEvent) => resourceCells(e)[1] || '—' },
  ];

  return (
    <Page title={t('events.title')} lead={t('events.lead')} actions={<Downloader filters={applied} />}>
      <form class="toolbar panel" onSubmit={apply} aria-label={t('common.search')}>
        <Field label={t('events.category')}>
          <select name="category" value={draft.category} onChange={set('category')}>
            <option value="management">{t('events.category.management')}</option>
            <option value="insight">{t('events.category.insight')}</option>
          </select>
        </Field>
        <Field label={t('events.attribute')}>
          <select name="key" value={draft.key} onChange={set('key')}>
            <option value="">{t('events.anyAttribute')}</option>
            {ATTRIBUTES.map((a) => (
              <option key={a} value={a}>
                {t(`events.attr.${a}` as Key)}
              </option>
            ))}
          </select>
        </Field>
        <div class="grow">
          <Field label={t('events.value')}>
            {draft.key === 'ReadOnly' ? (
              <select name="value" value={draft.value} onChange={set('value')}>
                <option value="" />
                <option value="true">true</option>
                <option value="false">false</option>
              </select>
            ) : (
              <input name="value" value={draft.value} onInput={set('value')} disabled={!draft.key} spellcheck={false} />
            )}
          </Field>
        </div>
        <RangeFields label={t('events.range')} options={RANGES} range={draft.range} from={draft.from} to={draft.to} onChange={(k, v) => setDraft({ ...draft, [k]: v })} />
        <button type="submit" class="primary">
          {t('common.apply')}
        </button>
        <button type="button" onClick={() => (location.hash = '#/events')}>
          {t('common.clear')}
        </button>
      </form>
      <ErrorBox error={state.error} />
      {state.loading && !state.events ? (
        <Spinner />
      ) : (
        <>
          <Table
            caption={t('events.title')}
            columns={columns}
            rows={state.events ?? []}
            rowKey={(e) => e.EventId}
            onOpen={setOpen}
            selected={open?.EventId}
            empty={t('events.none')}
          />
          <Pager page={pages.page} hasPrev={pages.page > 1} hasNext={!!state.next} busy={state.loading} onPrev={pages.prev} onNext={() => state.next && pages.next(state.next)} />
        </>
      )}
      {open && <EventPanel event={open} onClose={() => setOpen(null)} />}
    </Page>
  );
}

function EventPanel({ event, onClose }: { event: TrailEvent; onClose: () => void }) {
  const r = parse(event);
  const [rtype, rname] = resourceCells(event);
  return (
    <SidePanel title={t('events.panel', { name: event.EventName })} onClose={onClose}>
      <KeyValues
        items={[
          [t('events.col.time'), fmtTime(event.EventTime)],
          [t('events.col.user'), event.Username],
          [t('events.col.source'), event.EventSource],
          [t('events.col.region'), r.awsRegion],
          [t('events.col.accessKey'), event.AccessKeyId],
          [t('events.col.ip'), r.sourceIPAddress],
          [t('events.col.error'), r.errorCode],
          [t('events.col.readOnly'), event.ReadOnly],
          [t('events.col.id'), <span class="mono">{event.EventId}</span>],
          [t('events.col.resourceType'), rtype],
          [t('events.col.resourceName'), rname],
        ]}
      />
      <h3>{t('events.record')}</h3>
      <JsonView value={event.CloudTrailEvent} />
    </SidePanel>
  );
}

const CSV_HEAD = [
  'events.col.id', 'events.col.time', 'events.col.user', 'events.col.name', 'events.col.resourceType', 'events.col.resourceName',
  'events.col.accessKey', 'events.col.region', 'events.col.error', 'events.col.ip', 'events.col.readOnly', 'events.col.source',
  'events.col.record',
] as const;

function csvRow(e: TrailEvent): string {
  const r = parse(e);
  const [rtype, rname] = resourceCells(e);
  return csvLine([
    e.EventId, new Date(e.EventTime * 1000).toISOString(), e.Username, e.EventName, rtype, rname, e.AccessKeyId, r.awsRegion,
    r.errorCode, r.sourceIPAddress, e.ReadOnly, e.EventSource, e.CloudTrailEvent,
  ]);
}

/** Downloads every event the filters select (up to DOWNLOAD_LIMIT), page by page, with progress and a stop button. */
function Downloader({ filters }: { filters: Filters }) {
  const [progress, setProgress] = useState<{ n: number; done: boolean; limited: boolean } | null>(null);
  const [error, setError] = useState<unknown>();
  const stop = useRef<AbortController | null>(null);
  const mounted = useRef(true);
  // Leaving the page stops a download in progress (and saves nothing); Stop saves what has arrived.
  useEffect(
    () => () => {
      mounted.current = false;
      stop.current?.abort();
    },
    [],
  );

  const run = async (format: 'csv' | 'json') => {
    const ctl = new AbortController();
    stop.current = ctl;
    setError(undefined);
    setProgress({ n: 0, done: false, limited: false });
    // Text is gathered into a Blob every few thousand events: 200,000 records are hundreds of megabytes, which the
    // browser can hold in Blobs but not comfortably as strings in the page's heap.
    const blobs: Blob[] = [];
    let parts: string[] = [format === 'csv' ? csvLine(CSV_HEAD.map((k) => t(k))) : '{"Records":['];
    const flush = () => {
      blobs.push(new Blob(parts));
      parts = [];
    };
    let n = 0;
    let token: string | undefined;
    const input = lookupInput(filters);
    type Answer = { Events?: TrailEvent[]; NextToken?: string };
    const page = (next?: string) => cloudtrail<Answer>('LookupEvents', { ...input, MaxResults: PAGE, NextToken: next }, ctl.signal);
    try {
      let pending: Promise<Answer> | null = page();
      while (pending) {
        const r: Answer = await pending;
        token = r.NextToken;
        // The next page is asked for before this one is written out, so the request and the writing overlap.
        pending = token && n + PAGE < DOWNLOAD_LIMIT ? page(token) : null;
        for (const e of r.Events ?? []) {
          if (n >= DOWNLOAD_LIMIT) break;
          parts.push(format === 'csv' ? csvRow(e) : (n ? ',' : '') + e.CloudTrailEvent);
          n++;
          if (n % 5000 === 0) flush();
        }
        setProgress({ n, done: false, limited: false });
      }
    } catch (e) {
      if ((e as Error).name !== 'AbortError') setError(e);
    }
    if (!mounted.current) return;
    if (format === 'json') parts.push(']}');
    flush();
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    download(`event_history_${stamp}.${format}`, format === 'csv' ? 'text/csv' : 'application/json', blobs);
    setProgress({ n, done: true, limited: n >= DOWNLOAD_LIMIT && !!token });
    stop.current = null;
  };

  const busy = progress && !progress.done;
  return (
    <div class="downloader">
      <button type="button" onClick={() => run('csv')} disabled={!!busy}>
        {t('common.downloadCsv')}
      </button>
      <button type="button" onClick={() => run('json')} disabled={!!busy}>
        {t('common.downloadJson')}
      </button>
      {progress && (
        <div class="download-progress" role="status" aria-live="polite">
          {busy ? (
            <>
              <progress max={DOWNLOAD_LIMIT} value={progress.n} />
              <span>{t('events.downloading', { n: fmtNumber(progress.n) })}</span>
              <button type="button" onClick={() => stop.current?.abort()}>
                {t('events.stop')}
              </button>
            </>
          ) : (
            <span>
              {t('events.downloadDone', { n: fmtNumber(progress.n) })} {progress.limited && t('events.downloadLimit', { n: fmtNumber(DOWNLOAD_LIMIT) })}
            </span>
          )}
        </div>
      )}
      <ErrorBox error={error} />
    </div>
  );
}
