// Lake dashboards: the list, the managed Highlights dashboard, a create form whose widgets are statements shown as a
// line chart, a top-N bar chart or a table, and a dashboard's page that refreshes it and draws each widget's results.
import { useEffect, useState } from 'preact/hooks';
import { AwsError, cloudtrail } from '../../aws';
import { ConfirmDelete, FormModal } from '../../forms';
import { fmtTime, t, type Key } from '../../i18n';
import { href } from '../../router';
import { BarChart, Badge, Check, ErrorBox, Field, KeyValues, Page, Panel, Spinner, Table, TimeChart, useLoad, type Series, Options } from '../../ui';
import { SqlEditor } from './sql';
import { QueryStatus, ResultTable, allRows, lakeTime, waitQuery, type Rows } from './shared';

const HIGHLIGHTS = 'AWSCloudTrail-Highlights';
const PLACEHOLDERS = ['$EventDataStoreId$', '$StartTime$', '$EndTime$', '$Period$'];
const VIEWS: [string, Key][] = [
  ['LineChart', 'lake.view.LineChart'],
  ['BarChart', 'lake.view.BarChart'],
  ['Table', 'lake.view.Table'],
];
const RANGES: [string, Key, number][] = [
  ['1h', 'lake.range.1h', 3600_000],
  ['1d', 'lake.range.1d', 86400_000],
  ['7d', 'lake.range.7d', 7 * 86400_000],
  ['30d', 'lake.range.30d', 30 * 86400_000],
];
const SCHEDULES: [string, Key, object | undefined][] = [
  ['', 'lake.schedule.off', undefined],
  ['1h', 'lake.schedule.1h', { Frequency: { Unit: 'HOURS', Value: 1 }, Status: 'ENABLED' }],
  ['6h', 'lake.schedule.6h', { Frequency: { Unit: 'HOURS', Value: 6 }, Status: 'ENABLED' }],
  ['12h', 'lake.schedule.12h', { Frequency: { Unit: 'HOURS', Value: 12 }, Status: 'ENABLED' }],
  ['1d', 'lake.schedule.1d', { Frequency: { Unit: 'DAYS', Value: 1 }, Status: 'ENABLED', TimeOfDay: '00:00' }],
];

interface Widget {
  QueryAlias?: string;
  QueryStatement: string;
  QueryParameters?: string[];
  ViewProperties: Record<string, string>;
}

const nameOf = (arn: string) => arn.slice(arn.lastIndexOf('/') + 1);

/** A widget's statement with its `?` placeholders shown as the parameters they take. */
function readable(w: Widget): string {
  const params = [...(w.QueryParameters ?? [])];
  return w.QueryStatement.replace(/\?/g, () => params.shift() ?? '?');
}

/** The statement and parameters of what a person wrote: each `$Name$` placeholder becomes `?` and a parameter. */
function toWidgetQuery(sql: string): { QueryStatement: string; QueryParameters?: string[] } {
  const params: string[] = [];
  const statement = sql.replace(/\$(EventDataStoreId|StartTime|EndTime|Period)\$/g, (m) => (params.push(m), '?'));
  return params.length ? { QueryStatement: statement, QueryParameters: params } : { QueryStatement: statement };
}

export function LakeDashboards({ rest }: { rest: string[] }) {
  return rest[0] ? <DashboardView name={rest[0]} /> : <DashboardList />;
}

function DashboardList() {
  const list = useLoad(async (signal) => {
    const all: { DashboardArn: string; Type: string }[] = [];
    let token: string | undefined;
    do {
      const r = await cloudtrail('ListDashboards', { NextToken: token }, signal);
      all.push(...(r.Dashboards ?? []));
      token = r.NextToken;
    } while (token);
    return all;
  }, []);
  const [creating, setCreating] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const hasHighlights = list.data?.some((d) => nameOf(d.DashboardArn) === HIGHLIGHTS);
  const enableHighlights = async () => {
    setBusy(true);
    setError(undefined);
    try {
      await cloudtrail('CreateDashboard', { Name: HIGHLIGHTS });
      location.hash = href('lake', 'dashboards', HIGHLIGHTS);
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  };
  return (
    <Page
      title={t('lake.dashboards.title')}
      lead={t('lake.dashboards.lead')}
      actions={
        <>
          {list.data && !hasHighlights && (
            <button type="button" onClick={enableHighlights} disabled={busy}>
              {t('lake.dashboards.highlights')}
            </button>
          )}
          <button type="button" class="primary" onClick={() => setCreating(true)}>
            {t('lake.dashboards.create')}
          </button>
        </>
      }
    >
      <ErrorBox error={list.error ?? error} />
      {list.loading && !list.data ? (
        <Spinner />
      ) : (
        <Table
          caption={t('lake.dashboards.title')}
          columns={[
            { key: 'name', label: t('common.name'), render: (d) => <a href={href('lake', 'dashboards', nameOf(d.DashboardArn))}>{nameOf(d.DashboardArn)}</a> },
            { key: 'type', label: t('lake.dashboard.type'), render: (d) => <Badge tone={d.Type === 'MANAGED' ? 'info' : 'off'}>{t(`lake.dashboardType.${d.Type}` as Key) ?? d.Type}</Badge> },
            { key: 'arn', label: 'ARN', render: (d) => <span class="mono arn">{d.DashboardArn}</span> },
          ]}
          rows={list.data ?? []}
          rowKey={(d) => d.DashboardArn}
          empty={t('lake.dashboards.none')}
        />
      )}
      {creating && <CreateDashboard onClose={() => setCreating(false)} />}
    </Page>
  );
}

interface DraftWidget {
  title: string;
  view: string;
  sql: string;
  label: string;
  value: string;
}

/** The first widget of a new dashboard: the top events of the refresh's range. Its title is in the language of the
 *  page when the dashboard is made (AWS keeps it as written). */
const NEW_WIDGET = (): DraftWidget => ({
  title: t('lake.widget.topEvents'),
  view: 'BarChart',
  sql: "SELECT eventName, count(*) AS calls\nFROM $EventDataStoreId$\nWHERE eventTime >= '$StartTime$' AND eventTime <= '$EndTime$'\nGROUP BY eventName\nORDER BY calls DESC\nLIMIT 10",
  label: '',
  value: '',
});

/** The view properties of a draft widget, as AWS's console writes them. */
function viewProperties(w: DraftWidget): Record<string, string> {
  const p: Record<string, string> = { View: w.view };
  if (w.title.trim()) p.Title = w.title.trim();
  if (w.view === 'BarChart') {
    if (w.label.trim()) p.LabelColumn = w.label.trim();
    if (w.value.trim()) p.ValueColumn = w.value.trim();
  } else if (w.view === 'LineChart') {
    if (w.label.trim()) p.XAxisColumn = w.label.trim();
    if (w.value.trim()) p.YAxisColumn = w.value.trim();
  }
  return p;
}

function CreateDashboard({ onClose }: { onClose: () => void }) {
  const [name, setName] = useState('');
  const [widgets, setWidgets] = useState<DraftWidget[]>([NEW_WIDGET()]);
  const [schedule, setSchedule] = useState('');
  const [protect, setProtect] = useState(false);
  const update = (i: number, w: Partial<DraftWidget>) => setWidgets(widgets.map((x, j) => (j === i ? { ...x, ...w } : x)));
  return (
    <FormModal
      id="create-dashboard"
      class="dashboard-form"
      title={t('lake.dashboards.create')}
      submit={t('lake.dashboards.create')}
      busyLabel={t('lake.creating')}
      onClose={onClose}
      onSubmit={async () => {
        await cloudtrail('CreateDashboard', {
          Name: name.trim(),
          Widgets: widgets.map((w) => ({ ...toWidgetQuery(w.sql), ViewProperties: viewProperties(w) })),
          RefreshSchedule: SCHEDULES.find((s) => s[0] === schedule)?.[2],
          TerminationProtectionEnabled: protect,
        });
        location.hash = href('lake', 'dashboards', name.trim());
      }}
    >
      <Field label={t('common.name')} hint={t('lake.dashboard.nameHint')}>
        <input name="name" value={name} onInput={(e) => setName(e.currentTarget.value)} required minLength={3} maxLength={128} pattern="[a-zA-Z0-9_\-]+" autocomplete="off" spellcheck={false} />
      </Field>
      {widgets.map((w, i) => (
        <fieldset key={i} class="widget-draft">
          <legend>{t('lake.widget.n', { n: i + 1 })}</legend>
          <div class="grid2 tight">
            <Field label={t('lake.widget.title')} hint={t('lake.widget.titleHint')}>
              <input name={`title-${i}`} value={w.title} onInput={(e) => update(i, { title: e.currentTarget.value })} maxLength={128} pattern="[a-zA-Z0-9._\- ]*" />
            </Field>
            <Field label={t('lake.widget.view')}>
              <select name={`view-${i}`} value={w.view} onChange={(e) => update(i, { view: e.currentTarget.value })}>
                <Options items={VIEWS} />
              </select>
            </Field>
          </div>
          <Field label={t('lake.widget.statement')} hint={t('lake.widget.statementHint', { names: PLACEHOLDERS.join(' ') })}>
            <SqlEditor name={`sql-${i}`} value={w.sql} onChange={(sql) => update(i, { sql })} minRows={4} />
          </Field>
          {w.view !== 'Table' && (
            <div class="grid2 tight">
              <Field label={w.view === 'BarChart' ? t('lake.widget.labelColumn') : t('lake.widget.xColumn')} optional>
                <input name={`label-${i}`} value={w.label} onInput={(e) => update(i, { label: e.currentTarget.value })} spellcheck={false} />
              </Field>
              <Field label={w.view === 'BarChart' ? t('lake.widget.valueColumn') : t('lake.widget.yColumn')} optional>
                <input name={`value-${i}`} value={w.value} onInput={(e) => update(i, { value: e.currentTarget.value })} spellcheck={false} />
              </Field>
            </div>
          )}
          {widgets.length > 1 && (
            <button type="button" class="danger" onClick={() => setWidgets(widgets.filter((_, j) => j !== i))}>
              {t('lake.widget.remove')}
            </button>
          )}
        </fieldset>
      ))}
      <button type="button" onClick={() => setWidgets([...widgets, { ...NEW_WIDGET(), title: '', view: 'Table' }])} disabled={widgets.length >= 10}>
        {t('lake.widget.add')}
      </button>
      <div class="grid2 tight spaced">
        <Field label={t('lake.dashboard.schedule')}>
          <select name="schedule" value={schedule} onChange={(e) => setSchedule(e.currentTarget.value)}>
            <Options items={SCHEDULES} />
          </select>
        </Field>
      </div>
      <Check label={t('lake.store.protection')} checked={protect} onChange={setProtect} />
    </FormModal>
  );
}

/** The time range of a refresh as Lake's timestamps, ending now. */
function rangeValues(span: number): Record<string, string> {
  const fmt = (ms: number) => new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
  const now = Date.now();
  return { $StartTime$: fmt(now - span), $EndTime$: fmt(now) };
}

function DashboardView({ name }: { name: string }) {
  const dash = useLoad((signal) => cloudtrail('GetDashboard', { DashboardId: name }, signal), [name]);
  const [range, setRange] = useState('1d');
  const [refreshId, setRefreshId] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const [deleting, setDeleting] = useState(false);
  const d = dash.data;
  const current = refreshId ?? d?.LastRefreshId;

  const refresh = async () => {
    setBusy(true);
    setError(undefined);
    try {
      const span = RANGES.find((r) => r[0] === range)![2];
      const r = await cloudtrail('StartDashboardRefresh', { DashboardId: name, QueryParameterValues: rangeValues(span) });
      setRefreshId(r.RefreshId);
      dash.reload();
    } catch (e) {
      setError(e);
    }
    setBusy(false);
  };

  const toggleProtection = async () => {
    setError(undefined);
    try {
      await cloudtrail('UpdateDashboard', { DashboardId: name, TerminationProtectionEnabled: !d.TerminationProtectionEnabled });
      dash.reload();
    } catch (e) {
      setError(e);
    }
  };

  if (dash.error)
    return (
      <Page title={name}>
        <ErrorBox error={dash.error} />
        <a href="#/lake/dashboards">{t('lake.dashboards.back')}</a>
      </Page>
    );
  if (!d)
    return (
      <Page title={name}>
        <Spinner />
      </Page>
    );
  const widgets: Widget[] = d.Widgets ?? [];
  return (
    <Page
      title={name}
      actions={
        <>
          <div class="inline-field">
            <Field label={t('lake.dashboard.range')}>
              <select name="range" value={range} onChange={(e) => setRange(e.currentTarget.value)}>
                <Options items={RANGES} />
              </select>
            </Field>
          </div>
          <button type="button" class="primary" onClick={refresh} disabled={busy}>
            {t('common.refresh')}
          </button>
          <button type="button" onClick={toggleProtection}>
            {d.TerminationProtectionEnabled ? t('lake.dashboard.unprotect') : t('lake.dashboard.protect')}
          </button>
          <button type="button" class="danger" onClick={() => setDeleting(true)}>
            {t('common.delete')}
          </button>
        </>
      }
    >
      <p class="crumbs">
        <a href="#/lake/dashboards">{t('lake.dashboards.title')}</a> / {name}
      </p>
      <ErrorBox error={error} />
      {d.LastRefreshFailureReason && <ErrorBox error={new AwsError(t('lake.dashboard.refreshFailed'), d.LastRefreshFailureReason, 0)} />}
      <Panel title={t('common.details')}>
        <KeyValues
          items={[
            [t('lake.dashboard.type'), t(`lake.dashboardType.${d.Type}` as Key) ?? d.Type],
            [t('common.status'), d.Status && (t(`lake.dashboardStatus.${d.Status}` as Key) ?? d.Status)],
            [t('lake.dashboard.schedule'), scheduleText(d.RefreshSchedule)],
            [t('lake.store.protection'), d.TerminationProtectionEnabled ? t('common.enabled') : t('common.disabled')],
            [t('lake.store.created'), fmtTime(d.CreatedTimestamp)],
            [t('lake.store.updated'), fmtTime(d.UpdatedTimestamp)],
            [t('lake.dashboard.lastRefresh'), current ? <span class="mono">{current}</span> : t('lake.dashboard.never')],
          ]}
        />
      </Panel>
      {!current && <div class="alert info">{t('lake.dashboard.refreshFirst')}</div>}
      <div class="widgets">
        {widgets.map((w, i) => (
          <WidgetCard key={`${w.QueryAlias ?? i}-${current}`} widget={w} index={i} refreshId={current} />
        ))}
      </div>
      {deleting && (
        <ConfirmDelete
          title={t('lake.dashboard.deleteTitle', { name })}
          name={name}
          onClose={() => setDeleting(false)}
          onConfirm={async () => {
            await cloudtrail('DeleteDashboard', { DashboardId: name });
            location.hash = '#/lake/dashboards';
          }}
        >
          {d.TerminationProtectionEnabled && <div class="alert info">{t('lake.dashboard.deleteProtected')}</div>}
        </ConfirmDelete>
      )}
    </Page>
  );
}

function scheduleText(s?: { Frequency?: { Unit?: string; Value?: number }; Status?: string; TimeOfDay?: string }): string {
  if (!s?.Frequency || s.Status === 'DISABLED') return t('lake.schedule.off');
  const f = s.Frequency;
  return f.Unit === 'DAYS' ? t('lake.schedule.daily', { time: s.TimeOfDay ?? '00:00' }) : t('lake.schedule.hours', { n: f.Value ?? '' });
}

/** One widget: waits for its query of the refresh, reads its rows and draws them as its view says. */
function WidgetCard({ widget, index, refreshId }: { widget: Widget; index: number; refreshId?: string }) {
  const alias = widget.QueryAlias ?? `widget-${index + 1}`;
  const [status, setStatus] = useState<string | undefined>();
  const [state, setState] = useState<{ rows?: Rows; error?: unknown }>({});
  const [showSql, setShowSql] = useState(false);
  const view = widget.ViewProperties?.View ?? 'Table';
  const title = widget.ViewProperties?.Title ?? t(`lake.highlight.${alias}` as Key) ?? alias;
  useEffect(() => {
    if (!refreshId) return;
    const ctl = new AbortController();
    waitQuery({ QueryAlias: alias, RefreshId: refreshId }, ctl.signal, (d) => setStatus(d.QueryStatus))
      .then(async (d) => {
        if (d.QueryStatus !== 'FINISHED') throw new AwsError(d.QueryStatus, d.ErrorMessage ?? '', 0);
        const rows = await allRows(d.QueryId, ctl.signal, 1000);
        setState({ rows });
      })
      .catch((error) => !ctl.signal.aborted && setState({ error }));
    return () => ctl.abort();
  }, [alias, refreshId]);
  return (
    <section class="panel widget" aria-label={title}>
      <header class="panel-head">
        <h2>{title}</h2>
        <div class="actions">
          {status && status !== 'FINISHED' && <QueryStatus status={status} />}
          <button type="button" class="link" aria-expanded={showSql} onClick={() => setShowSql(!showSql)}>
            {t('lake.widget.showSql')}
          </button>
        </div>
      </header>
      {showSql && <pre class="widget-sql">{readable(widget)}</pre>}
      {!refreshId ? (
        <p class="empty">{t('lake.dashboard.never')}</p>
      ) : state.error ? (
        <ErrorBox error={state.error} />
      ) : !state.rows ? (
        <Spinner />
      ) : (
        <WidgetView view={view} props={widget.ViewProperties ?? {}} rows={state.rows} title={title} />
      )}
    </section>
  );
}

const numeric = (v: string | undefined) => v !== undefined && v !== '' && !isNaN(Number(v));

/** Rows drawn as a line chart (a time column and numeric series), top-N bars (a label and a value), or a table. */
function WidgetView({ view, props, rows, title }: { view: string; props: Record<string, string>; rows: Rows; title: string }) {
  const col = (name: string | undefined, fallback: number) => {
    const i = name ? rows.columns.findIndex((c) => c.toLowerCase() === name.toLowerCase()) : -1;
    return i >= 0 ? i : fallback;
  };
  const numericCols = rows.columns.map((_, i) => i).filter((i) => rows.rows.length && rows.rows.every((r) => r[i] === undefined || numeric(r[i])));
  if (view === 'LineChart') {
    const x = col(props.XAxisColumn, rows.columns.findIndex((_, i) => rows.rows.some((r) => !isNaN(lakeTime(r[i])))));
    const ys = props.YAxisColumn ? [col(props.YAxisColumn, -1)].filter((i) => i >= 0) : numericCols.filter((i) => i !== x);
    if (x >= 0 && ys.length) {
      const series: Series[] = ys.map((i) => ({
        label: rows.columns[i],
        points: rows.rows.filter((r) => !isNaN(lakeTime(r[x]))).map((r) => [lakeTime(r[x]), Number(r[i] ?? 0)] as [number, number]),
      }));
      return <TimeChart series={series} label={title} />;
    }
  }
  if (view === 'BarChart' || view === 'PieChart') {
    const value = col(props.ValueColumn, numericCols[numericCols.length - 1] ?? -1);
    const label = col(props.LabelColumn, rows.columns.findIndex((_, i) => i !== value));
    if (value >= 0 && label >= 0) return <BarChart label={title} rows={rows.rows.map((r) => [r[label] ?? 'NULL', Number(r[value] ?? 0)] as [string, number])} />;
  }
  return <ResultTable data={rows} caption={title} />;
}
