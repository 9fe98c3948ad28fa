// Log groups: the list (prefix search, paging, create, retention, delete) and a group's page with its log events
// (FilterLogEvents with a filter pattern), its log streams and its metric filters.
import { useEffect, useRef, useState } from 'preact/hooks';
import { logs } from '../../aws';
import { ConfirmDelete, FormModal } from '../../forms';
import { fmtBytes, fmtNumber, fmtTime, t, type Key } from '../../i18n';
import { RangeFields, rangeBounds } from '../../ranges';
import { go, href } from '../../router';
import { CopyButton, ErrorBox, Field, JsonView, KeyValues, Page, Pager, Panel, SidePanel, Spinner, Table, Tabs, useLoad, useTokenPages } from '../../ui';
import { MetricFilters } from './metric-filters';
import { NotFound, jsonOf, usePagedLoad } from './shared';

interface LogGroup {
  logGroupName: string;
  logGroupArn?: string;
  arn?: string;
  creationTime?: number;
  retentionInDays?: number;
  metricFilterCount?: number;
  storedBytes?: number;
}

interface LogStream {
  logStreamName: string;
  firstEventTimestamp?: number;
  lastEventTimestamp?: number;
  lastIngestionTime?: number;
  storedBytes?: number;
}

interface LogEvent {
  eventId: string;
  logStreamName: string;
  timestamp: number;
  ingestionTime?: number;
  message: string;
}

/** The retention periods CloudWatch Logs accepts, in days. */
const RETENTION = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

function retentionLabel(days?: number): string {
  if (!days) return t('mon.retention.never');
  return days === 1 ? t('mon.retention.day') : t('mon.retention.days', { n: days });
}

/** The options of a retention select: never, then each period AWS accepts. */
function retentionOptions() {
  return [
    <option key="" value="">
      {t('mon.retention.never')}
    </option>,
    ...RETENTION.map((d) => (
      <option key={d} value={String(d)}>
        {retentionLabel(d)}
      </option>
    )),
  ];
}

async function setRetention(name: string, days: string) {
  if (days) await logs('PutRetentionPolicy', { logGroupName: name, retentionInDays: Number(days) });
  else await logs('DeleteRetentionPolicy', { logGroupName: name });
}

export function LogGroups({ rest }: { rest: string[] }) {
  // Keyed by the name: another group's page starts afresh (its own filter, its own state).
  if (rest[0]) return <LogGroupDetail key={rest[0]} name={rest[0]} tab={rest[1] ?? 'events'} />;
  return <LogGroupList />;
}

function LogGroupList() {
  const [draft, setDraft] = useState('');
  const [prefix, setPrefix] = useState('');
  const pages = useTokenPages();
  const list = usePagedLoad(
    () => logs('DescribeLogGroups', { logGroupNamePrefix: prefix || undefined, limit: 50, nextToken: pages.token }),
    [prefix, pages.token],
  );
  const [creating, setCreating] = useState(false);
  const [editing, setEditing] = useState<LogGroup | null>(null);
  const [deleting, setDeleting] = useState<LogGroup | null>(null);
  const search = (e: Event) => {
    e.preventDefault();
    pages.reset();
    setPrefix(draft.trim());
  };
  const groups: LogGroup[] = list.data?.logGroups ?? [];
  const columns = [
    { key: 'name', label: t('mon.lg.name'), render: (g: LogGroup) => <a href={href('monitoring', 'log-groups', g.logGroupName)}>{g.logGroupName}</a> },
    { key: 'retention', label: t('mon.lg.retention'), render: (g: LogGroup) => retentionLabel(g.retentionInDays), class: 'mon-time' },
    { key: 'bytes', label: t('mon.lg.storedBytes'), render: (g: LogGroup) => fmtBytes(g.storedBytes ?? 0), class: 'num nowrap' },
    { key: 'filters', label: t('mon.lg.metricFilters'), render: (g: LogGroup) => fmtNumber(g.metricFilterCount ?? 0), class: 'num' },
    { key: 'created', label: t('mon.lg.created'), render: (g: LogGroup) => fmtTime(g.creationTime), class: 'mon-time' },
    {
      key: 'actions',
      label: t('common.actions'),
      render: (g: LogGroup) => (
        <div class="mon-row-actions">
          <button type="button" onClick={() => setEditing(g)} aria-label={t('mon.lg.editRetentionOf', { name: g.logGroupName })}>
            {t('mon.lg.editRetention')}
          </button>
          <button type="button" class="danger" onClick={() => setDeleting(g)} aria-label={t('mon.lg.deleteOf', { name: g.logGroupName })}>
            {t('common.delete')}
          </button>
        </div>
      ),
    },
  ];
  return (
    <Page
      title={t('nav.logGroups')}
      lead={t('mon.lg.lead')}
      actions={
        <>
          <button type="button" onClick={list.reload}>
            {t('common.refresh')}
          </button>
          <button type="button" class="primary" onClick={() => setCreating(true)}>
            {t('mon.lg.create')}
          </button>
        </>
      }
    >
      <form class="toolbar panel" onSubmit={search} role="search" aria-label={t('mon.lg.search')}>
        <div class="grow">
          <Field label={t('mon.lg.prefix')}>
            <input name="prefix" value={draft} onInput={(e) => setDraft(e.currentTarget.value)} spellcheck={false} placeholder="CloudTrail/" />
          </Field>
        </div>
        <button type="submit" class="primary">
          {t('common.search')}
        </button>
      </form>
      <ErrorBox error={list.error} />
      {list.loading && !list.data ? (
        <Spinner />
      ) : (
        <>
          <Table caption={t('nav.logGroups')} columns={columns} rows={groups} rowKey={(g) => g.logGroupName} empty={t('mon.lg.none')} />
          <Pager page={pages.page} hasPrev={pages.page > 1} hasNext={!!list.data?.nextToken} busy={list.busy} onPrev={pages.prev} onNext={() => pages.next(list.data.nextToken)} />
        </>
      )}
      {creating && <CreateLogGroup onClose={() => setCreating(false)} />}
      {editing && <RetentionModal group={editing} onClose={() => setEditing(null)} onSaved={list.reload} />}
      {deleting && (
        <ConfirmDelete
          title={t('mon.lg.deleteTitle')}
          name={deleting.logGroupName}
          onConfirm={async () => {
            await logs('DeleteLogGroup', { logGroupName: deleting.logGroupName });
            list.reload();
          }}
          onClose={() => setDeleting(null)}
        >
          <p>{t('mon.lg.deleteBody')}</p>
        </ConfirmDelete>
      )}
    </Page>
  );
}

function CreateLogGroup({ onClose }: { onClose: () => void }) {
  const [name, setName] = useState('');
  const [retention, setRet] = useState('');
  return (
    <FormModal
      id="create-log-group"
      title={t('mon.lg.create')}
      submit={t('common.create')}
      invalid={!name.trim()}
      onClose={onClose}
      onSubmit={async () => {
        const n = name.trim();
        await logs('CreateLogGroup', { logGroupName: n });
        if (retention) await setRetention(n, retention);
        go('monitoring', 'log-groups', n);
      }}
    >
      <Field label={t('mon.lg.name')} hint={t('mon.lg.nameHint')}>
        <input name="logGroupName" value={name} onInput={(e) => setName(e.currentTarget.value)} required maxLength={512} spellcheck={false} />
      </Field>
      <Field label={t('mon.lg.retention')}>
        <select name="retention" value={retention} onChange={(e) => setRet(e.currentTarget.value)}>
          {retentionOptions()}
        </select>
      </Field>
    </FormModal>
  );
}

function RetentionModal({ group, onClose, onSaved }: { group: LogGroup; onClose: () => void; onSaved: () => void }) {
  const [value, setValue] = useState(group.retentionInDays ? String(group.retentionInDays) : '');
  return (
    <FormModal
      id="edit-retention"
      title={t('mon.lg.editRetentionOf', { name: group.logGroupName })}
      submit={t('common.save')}
      invalid={false}
      onClose={onClose}
      onSubmit={async () => {
        await setRetention(group.logGroupName, value);
        onSaved();
        onClose();
      }}
    >
      <Field label={t('mon.lg.retention')} hint={t('mon.lg.retentionHint')}>
        <select name="retention" value={value} onChange={(e) => setValue(e.currentTarget.value)}>
          {retentionOptions()}
        </select>
      </Field>
    </FormModal>
  );
}

const TABS: [string, Key][] = [
  ['events', 'mon.tab.events'],
  ['streams', 'mon.tab.streams'],
  ['filters', 'mon.tab.filters'],
];

/** An applied search of the log events. */
export interface EventFilter {
  pattern: string;
  /** A preset of RANGE_SECONDS, 'all' or 'custom'. */
  range: string;
  from: string;
  to: string;
  stream: string;
  /** When the search was applied (epoch milliseconds): presets count back from it, on every page of the search. */
  at: number;
}

/** No pattern or stream, the last hour, applied now. */
const noFilter = (): EventFilter => ({ pattern: '', range: '1h', from: '', to: '', stream: '', at: Date.now() });

function LogGroupDetail({ name, tab }: { name: string; tab: string }) {
  const group = useLoad(
    () => logs('DescribeLogGroups', { logGroupNamePrefix: name, limit: 50 }).then((r) => (r.logGroups as LogGroup[]).find((g) => g.logGroupName === name) ?? null),
    [name],
  );
  // Kept here so that a stream picked on the streams tab carries over to the events tab.
  const [filter, setFilter] = useState<EventFilter>(noFilter);
  const [editing, setEditing] = useState(false);
  const [deleting, setDeleting] = useState(false);
  const g = group.data;
  const tabHref = (id: string) => href('monitoring', 'log-groups', name, id);
  return (
    <Page
      title={name}
      actions={
        <>
          <a class="mon-back" href={href('monitoring', 'log-groups')}>
            ‹ {t('nav.logGroups')}
          </a>
          <button type="button" onClick={() => setEditing(true)} disabled={!g}>
            {t('mon.lg.editRetention')}
          </button>
          <button type="button" class="danger" onClick={() => setDeleting(true)} disabled={!g}>
            {t('common.delete')}
          </button>
        </>
      }
    >
      <ErrorBox error={group.error} />
      {group.loading && !group.data ? (
        <Spinner />
      ) : !g ? (
        !group.error && <NotFound message={t('mon.lg.notFound', { name })} />
      ) : (
        <>
          <Panel title={t('common.details')}>
            <KeyValues
              items={[
                [t('mon.lg.arn'), <span class="mono">{g.logGroupArn ?? g.arn}</span>],
                [t('mon.lg.retention'), retentionLabel(g.retentionInDays)],
                [t('mon.lg.storedBytes'), fmtBytes(g.storedBytes ?? 0)],
                [t('mon.lg.metricFilters'), fmtNumber(g.metricFilterCount ?? 0)],
                [t('mon.lg.created'), fmtTime(g.creationTime)],
              ]}
            />
          </Panel>
          <Tabs tabs={TABS} current={tab} hrefOf={tabHref} />
          {tab === 'streams' ? (
            <LogStreams
              group={name}
              onPick={(stream) => {
                setFilter({ ...noFilter(), range: 'all', stream });
                location.hash = tabHref('events');
              }}
            />
          ) : tab === 'filters' ? (
            <MetricFilters group={name} onChange={group.reload} />
          ) : (
            <LogEvents group={name} filter={filter} onFilter={setFilter} />
          )}
        </>
      )}
      {editing && g && <RetentionModal group={g} onClose={() => setEditing(false)} onSaved={group.reload} />}
      {deleting && (
        <ConfirmDelete
          title={t('mon.lg.deleteTitle')}
          name={name}
          onConfirm={async () => {
            await logs('DeleteLogGroup', { logGroupName: name });
            go('monitoring', 'log-groups');
          }}
          onClose={() => setDeleting(false)}
        >
          <p>{t('mon.lg.deleteBody')}</p>
        </ConfirmDelete>
      )}
    </Page>
  );
}

/** The range options: the presets of RANGE_SECONDS (src/ranges.ts), everything, or custom bounds. */
const RANGES: [string, Key][] = [
  ['5m', 'mon.range.5m'],
  ['1h', 'mon.range.1h'],
  ['12h', 'mon.range.12h'],
  ['1d', 'mon.range.1d'],
  ['7d', 'mon.range.7d'],
  ['all', 'mon.range.all'],
  ['custom', 'mon.range.custom'],
];
const EVENT_PAGE = 100;

/** The FilterLogEvents input for a filter (without paging). */
function filterInput(group: string, f: EventFilter): Record<string, unknown> {
  const input: Record<string, unknown> = { logGroupName: group };
  if (f.pattern.trim()) input.filterPattern = f.pattern;
  if (f.stream.trim()) input.logStreamNamePrefix = f.stream.trim();
  const { start, end } = rangeBounds(f.range, f.from, f.to, f.at);
  if (start !== undefined) input.startTime = start;
  if (end !== undefined) input.endTime = end;
  return input;
}

function LogEvents({ group, filter, onFilter }: { group: string; filter: EventFilter; onFilter: (f: EventFilter) => void }) {
  const [draft, setDraft] = useState(filter);
  const [state, setState] = useState<{ events: LogEvent[]; next?: string; error?: unknown; loading: boolean }>({ events: [], loading: true });
  const [open, setOpen] = useState<LogEvent | null>(null);
  const seq = useRef(0);
  useEffect(() => setDraft(filter), [filter]);

  /** Reads a page (after `token`, or the first); skips up to four empty pages, which a rare pattern may answer. */
  const load = async (token?: string) => {
    const mine = ++seq.current;
    setState((s) => ({ events: token ? s.events : [], next: s.next, loading: true }));
    try {
      const got: LogEvent[] = [];
      let next = token;
      let tries = 0;
      do {
        const r = await logs('FilterLogEvents', { ...filterInput(group, filter), limit: EVENT_PAGE, nextToken: next });
        got.push(...(r.events ?? []));
        next = r.nextToken;
      } while (!got.length && next && ++tries < 5);
      if (mine === seq.current) setState((s) => ({ events: token ? [...s.events, ...got] : got, next, loading: false }));
    } catch (error) {
      if (mine === seq.current) setState((s) => ({ events: s.events, error, loading: false }));
    }
  };
  useEffect(() => {
    load();
  }, [group, filter]);

  const set = (k: keyof EventFilter) => (e: Event) => setDraft({ ...draft, [k]: (e.currentTarget as HTMLInputElement).value });
  const columns = [
    { key: 'time', label: t('mon.ev.time'), render: (e: LogEvent) => fmtTime(e.timestamp), class: 'mon-time' },
    {
      key: 'message',
      label: t('mon.ev.message'),
      render: (e: LogEvent) => (
        <span class="mon-msg">
          {jsonOf(e.message) !== undefined && <span class="mon-tag">JSON</span>}
          {e.message}
        </span>
      ),
      class: 'mon-msg-cell',
    },
    { key: 'stream', label: t('mon.ev.stream'), render: (e: LogEvent) => <span class="mon-stream">{e.logStreamName}</span> },
  ];
  return (
    <>
      <form
        class="toolbar panel mon-filter"
        role="search"
        aria-label={t('mon.ev.search')}
        onSubmit={(e) => {
          e.preventDefault();
          onFilter({ ...draft, at: Date.now() });
        }}
      >
        <div class="grow mon-pattern">
          <Field label={t('mon.ev.pattern')}>
            <input name="filterPattern" class="mono" value={draft.pattern} onInput={set('pattern')} spellcheck={false} autocomplete="off" placeholder='{ $.errorCode = "AccessDenied*" }' />
          </Field>
        </div>
        <Field label={t('mon.ev.streamPrefix')}>
          <input name="logStreamNamePrefix" value={draft.stream} onInput={set('stream')} spellcheck={false} />
        </Field>
        <RangeFields label={t('mon.range')} options={RANGES} range={draft.range} from={draft.from} to={draft.to} onChange={(k, v) => setDraft({ ...draft, [k]: v })} />
        <button type="submit" class="primary">
          {t('mon.ev.apply')}
        </button>
        <button type="button" onClick={() => onFilter(noFilter())}>
          {t('common.clear')}
        </button>
        <small class="hint mon-full">{t('mon.ev.patternHint')}</small>
      </form>
      <ErrorBox error={state.error} />
      {state.loading && !state.events.length ? (
        <Spinner />
      ) : (
        <>
          <p class="mon-count" aria-live="polite">
            {t('mon.ev.count', { n: fmtNumber(state.events.length) })}
          </p>
          <Table
            caption={t('mon.tab.events')}
            columns={columns}
            rows={state.events}
            rowKey={(e) => e.eventId}
            onOpen={setOpen}
            selected={open?.eventId}
            empty={t('mon.ev.none')}
          />
          {state.next && (
            <div class="mon-more">
              <button type="button" onClick={() => load(state.next)} disabled={state.loading}>
                {state.loading ? t('common.loading') : t('mon.ev.more')}
              </button>
            </div>
          )}
        </>
      )}
      {open && <EventPanel event={open} onClose={() => setOpen(null)} />}
    </>
  );
}

function EventPanel({ event, onClose }: { event: LogEvent; onClose: () => void }) {
  const json = jsonOf(event.message);
  return (
    <SidePanel title={t('mon.ev.panel')} onClose={onClose}>
      <KeyValues
        items={[
          [t('mon.ev.time'), fmtTime(event.timestamp)],
          [t('mon.ev.ingested'), fmtTime(event.ingestionTime)],
          [t('mon.ev.stream'), <span class="mono">{event.logStreamName}</span>],
          [t('mon.ev.id'), <span class="mono">{event.eventId}</span>],
        ]}
      />
      <h3>{t('mon.ev.message')}</h3>
      {json !== undefined ? (
        <JsonView value={json} />
      ) : (
        <div class="json">
          <div class="json-tools">
            <CopyButton text={event.message} />
          </div>
          <pre tabIndex={0} class="mon-pre">
            {event.message}
          </pre>
        </div>
      )}
    </SidePanel>
  );
}

function LogStreams({ group, onPick }: { group: string; onPick: (stream: string) => void }) {
  const [draft, setDraft] = useState('');
  const [prefix, setPrefix] = useState('');
  const pages = useTokenPages();
  // AWS refuses ordering by last event time together with a name prefix.
  const list = usePagedLoad(
    () =>
      logs('DescribeLogStreams', {
        logGroupName: group,
        logStreamNamePrefix: prefix || undefined,
        orderBy: prefix ? 'LogStreamName' : 'LastEventTime',
        descending: !prefix,
        limit: 50,
        nextToken: pages.token,
      }),
    [group, prefix, pages.token],
  );
  const columns = [
    {
      key: 'name',
      label: t('mon.st.name'),
      render: (s: LogStream) => (
        <button type="button" class="link mon-stream-link" onClick={() => onPick(s.logStreamName)} title={t('mon.st.viewEvents')}>
          {s.logStreamName}
        </button>
      ),
    },
    { key: 'last', label: t('mon.st.lastEvent'), render: (s: LogStream) => fmtTime(s.lastEventTimestamp), class: 'mon-time' },
    { key: 'first', label: t('mon.st.firstEvent'), render: (s: LogStream) => fmtTime(s.firstEventTimestamp), class: 'mon-time' },
    { key: 'bytes', label: t('mon.lg.storedBytes'), render: (s: LogStream) => fmtBytes(s.storedBytes ?? 0), class: 'num nowrap' },
  ];
  return (
    <>
      <form
        class="toolbar panel"
        role="search"
        aria-label={t('mon.st.search')}
        onSubmit={(e) => {
          e.preventDefault();
          pages.reset();
          setPrefix(draft.trim());
        }}
      >
        <div class="grow">
          <Field label={t('mon.st.prefix')}>
            <input name="streamPrefix" value={draft} onInput={(e) => setDraft(e.currentTarget.value)} spellcheck={false} />
          </Field>
        </div>
        <button type="submit" class="primary">
          {t('common.search')}
        </button>
        <button type="button" onClick={list.reload}>
          {t('common.refresh')}
        </button>
      </form>
      <ErrorBox error={list.error} />
      {list.loading && !list.data ? (
        <Spinner />
      ) : (
        <>
          <Table caption={t('mon.tab.streams')} columns={columns} rows={list.data?.logStreams ?? []} rowKey={(s) => s.logStreamName} empty={t('mon.st.none')} />
          <Pager page={pages.page} hasPrev={pages.page > 1} hasNext={!!list.data?.nextToken} busy={list.busy} onPrev={pages.prev} onNext={() => pages.next(list.data.nextToken)} />
        </>
      )}
    </>
  );
}
