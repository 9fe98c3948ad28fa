// A log group's metric filters: the list, the create/edit form (PutMetricFilter) with a pattern tester
// (TestMetricFilter over pasted lines or the group's recent events), and deletion.
import { useState } from 'preact/hooks';
import { logs } from '../../aws';
import { fmtNumber, t } from '../../i18n';
import { ConfirmDelete } from '../../forms';
import { Badge, ErrorBox, Field, Panel, Spinner, Table, useLoad } from '../../ui';
import { jsonOf } from './shared';

interface Transformation {
  metricName: string;
  metricNamespace: string;
  metricValue: string;
  defaultValue?: number;
  unit?: string;
  dimensions?: Record<string, string>;
}

interface MetricFilter {
  filterName: string;
  filterPattern?: string;
  metricTransformations: Transformation[];
  creationTime?: number;
}

const UNITS = [
  'Seconds', 'Microseconds', 'Milliseconds', 'Bytes', 'Kilobytes', 'Megabytes', 'Gigabytes', 'Terabytes', 'Bits', 'Kilobits',
  'Megabits', 'Gigabits', 'Terabits', 'Percent', 'Count', 'Bytes/Second', 'Kilobytes/Second', 'Megabytes/Second',
  'Gigabytes/Second', 'Terabytes/Second', 'Bits/Second', 'Kilobits/Second', 'Megabits/Second', 'Gigabits/Second',
  'Terabits/Second', 'Count/Second', 'None',
];

/** Every metric filter of the group (at most 100, so a couple of pages). */
async function allFilters(group: string): Promise<MetricFilter[]> {
  const out: MetricFilter[] = [];
  let token: string | undefined;
  do {
    const r = await logs('DescribeMetricFilters', { logGroupName: group, limit: 50, nextToken: token });
    out.push(...(r.metricFilters ?? []));
    token = r.nextToken;
  } while (token);
  return out;
}

/** The link that opens the alarm form for a filter's metric. */
function alarmHref(tr: Transformation): string {
  return '#/monitoring/alarms?' + new URLSearchParams({ create: '1', namespace: tr.metricNamespace, metric: tr.metricName });
}

export function MetricFilters({ group, onChange }: { group: string; onChange: () => void }) {
  const list = useLoad(() => allFilters(group), [group]);
  const [editing, setEditing] = useState<MetricFilter | 'new' | null>(null);
  const [deleting, setDeleting] = useState<MetricFilter | null>(null);
  if (editing)
    return (
      <FilterEditor
        group={group}
        filter={editing === 'new' ? undefined : editing}
        onDone={(saved) => {
          setEditing(null);
          if (saved) {
            list.reload();
            onChange();
          }
        }}
      />
    );
  const columns = [
    { key: 'name', label: t('mon.mf.name'), render: (f: MetricFilter) => <strong>{f.filterName}</strong> },
    { key: 'pattern', label: t('mon.mf.pattern'), render: (f: MetricFilter) => <code class="mon-code">{f.filterPattern || '""'}</code> },
    {
      key: 'metric',
      label: t('mon.mf.metric'),
      render: (f: MetricFilter) =>
        f.metricTransformations.map((tr) => (
          <span key={tr.metricName} class="mon-metric">
            <small>{tr.metricNamespace}</small> {tr.metricName}
          </span>
        )),
    },
    { key: 'value', label: t('mon.mf.value'), render: (f: MetricFilter) => <code>{f.metricTransformations[0]?.metricValue}</code> },
    { key: 'default', label: t('mon.mf.default'), render: (f: MetricFilter) => f.metricTransformations[0]?.defaultValue ?? '—', class: 'num' },
    {
      key: 'actions',
      label: t('common.actions'),
      render: (f: MetricFilter) => (
        <div class="mon-row-actions">
          <button type="button" onClick={() => setEditing(f)} aria-label={t('mon.mf.editOf', { name: f.filterName })}>
            {t('common.edit')}
          </button>
          {f.metricTransformations[0] && (
            <a class="mon-button" href={alarmHref(f.metricTransformations[0])} aria-label={t('mon.mf.alarmOf', { name: f.filterName })}>
              {t('mon.mf.createAlarm')}
            </a>
          )}
          <button type="button" class="danger" onClick={() => setDeleting(f)} aria-label={t('mon.mf.deleteOf', { name: f.filterName })}>
            {t('common.delete')}
          </button>
        </div>
      ),
    },
  ];
  return (
    <Panel
      title={t('mon.mf.title', { n: list.data?.length ?? 0 })}
      actions={
        <>
          <button type="button" onClick={list.reload}>
            {t('common.refresh')}
          </button>
          <button type="button" class="primary" onClick={() => setEditing('new')}>
            {t('mon.mf.create')}
          </button>
        </>
      }
    >
      <p class="lead">{t('mon.mf.lead')}</p>
      <ErrorBox error={list.error} />
      {list.loading && !list.data ? (
        <Spinner />
      ) : (
        <Table caption={t('mon.tab.filters')} columns={columns} rows={list.data ?? []} rowKey={(f) => f.filterName} empty={t('mon.mf.none')} />
      )}
      {deleting && (
        <ConfirmDelete
          title={t('mon.mf.deleteTitle')}
          name={deleting.filterName}
          onConfirm={async () => {
            await logs('DeleteMetricFilter', { logGroupName: group, filterName: deleting.filterName });
            list.reload();
            onChange();
          }}
          onClose={() => setDeleting(null)}
        >
          <p>{t('mon.mf.deleteBody')}</p>
        </ConfirmDelete>
      )}
    </Panel>
  );
}

interface Draft {
  name: string;
  pattern: string;
  namespace: string;
  metric: string;
  value: string;
  def: string;
  unit: string;
}

function FilterEditor({ group, filter, onDone }: { group: string; filter?: MetricFilter; onDone: (saved: boolean) => void }) {
  const tr = filter?.metricTransformations[0];
  const [d, setD] = useState<Draft>({
    name: filter?.filterName ?? '',
    pattern: filter?.filterPattern ?? '',
    namespace: tr?.metricNamespace ?? '',
    metric: tr?.metricName ?? '',
    value: tr?.metricValue ?? '1',
    def: tr?.defaultValue === undefined ? '' : String(tr.defaultValue),
    unit: tr?.unit ?? '',
  });
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const set = (k: keyof Draft) => (e: Event) => setD({ ...d, [k]: (e.currentTarget as HTMLInputElement).value });
  const save = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await logs('PutMetricFilter', {
        logGroupName: group,
        filterName: d.name.trim(),
        filterPattern: d.pattern,
        metricTransformations: [
          {
            metricName: d.metric.trim(),
            metricNamespace: d.namespace.trim(),
            metricValue: d.value.trim(),
            defaultValue: d.def.trim() === '' ? undefined : Number(d.def),
            unit: d.unit || undefined,
            dimensions: tr?.dimensions,
          },
        ],
      });
      onDone(true);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  return (
    <form class="mon-editor" onSubmit={save} aria-labelledby="mf-editor-title">
      <Panel title={filter ? t('mon.mf.editTitle', { name: filter.filterName }) : t('mon.mf.create')}>
        <h3 id="mf-editor-title" class="sr-only">
          {filter ? t('mon.mf.editTitle', { name: filter.filterName }) : t('mon.mf.create')}
        </h3>
        <fieldset>
          <legend>{t('mon.mf.patternStep')}</legend>
          <Field label={t('mon.mf.pattern')} hint={t('mon.mf.patternHint')}>
            <textarea name="filterPattern" class="code" rows={3} value={d.pattern} onInput={set('pattern')} spellcheck={false} />
          </Field>
          <PatternTester group={group} pattern={d.pattern} metricValue={d.value} />
        </fieldset>
        <fieldset class="mon-metric-step">
          <legend>{t('mon.mf.metricStep')}</legend>
          <Field label={t('mon.mf.name')} hint={t('mon.mf.nameHint')}>
            <input name="filterName" value={d.name} onInput={set('name')} required disabled={!!filter} maxLength={512} spellcheck={false} />
          </Field>
          <Field label={t('mon.mf.namespace')}>
            <input name="metricNamespace" value={d.namespace} onInput={set('namespace')} required maxLength={255} spellcheck={false} placeholder="CloudTrailMetrics" />
          </Field>
          <Field label={t('mon.mf.metricName')}>
            <input name="metricName" value={d.metric} onInput={set('metric')} required maxLength={255} spellcheck={false} />
          </Field>
          <Field label={t('mon.mf.value')} hint={t('mon.mf.valueHint')}>
            <input name="metricValue" class="mono" value={d.value} onInput={set('value')} required maxLength={100} spellcheck={false} />
          </Field>
          <Field label={t('mon.mf.default')} hint={t('mon.mf.defaultHint')} optional>
            <input name="defaultValue" type="number" step="any" value={d.def} onInput={set('def')} />
          </Field>
          <Field label={t('mon.mf.unit')} optional>
            <select name="unit" value={d.unit} onChange={set('unit')}>
              <option value="">{t('common.none')}</option>
              {UNITS.map((u) => (
                <option key={u}>{u}</option>
              ))}
            </select>
          </Field>
          {tr?.dimensions && Object.keys(tr.dimensions).length > 0 && (
            <p class="hint">{t('mon.mf.dimensionsKept', { dims: Object.entries(tr.dimensions).map(([k, v]) => `${k}=${v}`).join(', ') })}</p>
          )}
        </fieldset>
        <ErrorBox error={error} />
        <div class="mon-form-buttons">
          <button type="button" onClick={() => onDone(false)}>
            {t('common.cancel')}
          </button>
          <button type="submit" class="primary" disabled={busy}>
            {filter ? t('common.save') : t('mon.mf.create')}
          </button>
        </div>
      </Panel>
    </form>
  );
}

/** The value a match would publish: a number, `$field` from the extracted fields, or `$.a.b[0]` from a JSON event. */
function publishedValue(metricValue: string, message: string, extracted: Record<string, string>): string | undefined {
  const v = metricValue.trim();
  if (!v.startsWith('$')) return v;
  if (!v.startsWith('$.')) return extracted[v];
  let node: any = jsonOf(message);
  for (const [, key, index] of v.slice(2).matchAll(/([^.[\]]+)|\[(\d+)\]/g)) {
    if (node === undefined || node === null) return undefined;
    node = node[key ?? Number(index)];
  }
  return typeof node === 'number' || (typeof node === 'string' && /^-?\d+(\.\d+)?$/.test(node)) ? String(node) : undefined;
}

/** Recent messages of the group: the newest events of its five most recently written streams. */
async function recentMessages(group: string): Promise<string[]> {
  const s = await logs('DescribeLogStreams', { logGroupName: group, orderBy: 'LastEventTime', descending: true, limit: 5 });
  const pages = await Promise.all(
    (s.logStreams ?? []).map((st: { logStreamName: string }) => logs('GetLogEvents', { logGroupName: group, logStreamName: st.logStreamName, limit: 50 })),
  );
  return pages
    .flatMap((p) => (p.events ?? []) as { timestamp: number; message: string }[])
    .sort((a, b) => b.timestamp - a.timestamp)
    .slice(0, 50)
    .map((e) => e.message.replace(/\r?\n/g, ' '));
}

interface Tested {
  lines: string[];
  matches: Map<number, Record<string, string>>;
}

function PatternTester({ group, pattern, metricValue }: { group: string; pattern: string; metricValue: string }) {
  const [text, setText] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const [result, setResult] = useState<Tested | null>(null);
  const run = async (fn: () => Promise<void>) => {
    setBusy(true);
    setError(undefined);
    try {
      await fn();
    } catch (e) {
      setError(e);
    }
    setBusy(false);
  };
  const loadRecent = () =>
    run(async () => {
      const msgs = await recentMessages(group);
      setText(msgs.join('\n'));
      setResult(null);
    });
  const test = () =>
    run(async () => {
      const lines = text.split('\n').filter((l) => l.trim()).slice(0, 50);
      setResult(null);
      const r = await logs('TestMetricFilter', { filterPattern: pattern, logEventMessages: lines });
      const matches = new Map<number, Record<string, string>>();
      for (const m of r.matches ?? []) matches.set(m.eventNumber, m.extractedValues ?? {});
      setResult({ lines, matches });
    });
  type Row = { n: number; line: string; extracted?: Record<string, string> };
  const rows: Row[] = result ? result.lines.map((line, i) => ({ n: i + 1, line, extracted: result.matches.get(i + 1) })) : [];
  const columns = [
    { key: 'n', label: '#', render: (r: Row) => r.n, class: 'num' },
    {
      key: 'match',
      label: t('mon.test.result'),
      render: (r: Row) => (r.extracted ? <Badge tone="ok">{t('mon.test.match')}</Badge> : <Badge tone="off">{t('mon.test.noMatch')}</Badge>),
    },
    { key: 'line', label: t('mon.ev.message'), render: (r: Row) => <span class="mon-msg">{r.line}</span>, class: 'mon-msg-cell' },
    {
      key: 'value',
      label: t('mon.test.value'),
      render: (r: Row) => (r.extracted ? (publishedValue(metricValue, r.line, r.extracted) ?? '—') : ''),
      class: 'num',
    },
  ];
  // Space-delimited patterns extract fields; the others extract none, and then the column is left out.
  if (rows.some((r) => r.extracted && Object.keys(r.extracted).length))
    columns.push({
      key: 'fields',
      label: t('mon.test.fields'),
      render: (r: Row) => (
        <dl class="mon-fields">
          {Object.entries(r.extracted ?? {}).map(([k, v]) => (
            <div key={k}>
              <dt>{k}</dt>
              <dd>{v}</dd>
            </div>
          ))}
        </dl>
      ),
    });
  return (
    <section class="mon-tester" aria-labelledby="tester-title">
      <h3 id="tester-title">{t('mon.test.title')}</h3>
      <Field label={t('mon.test.messages')} hint={t('mon.test.messagesHint')}>
        <textarea name="logEventMessages" class="code" rows={5} value={text} onInput={(e) => setText(e.currentTarget.value)} spellcheck={false} />
      </Field>
      <div class="mon-form-buttons start">
        <button type="button" onClick={loadRecent} disabled={busy}>
          {t('mon.test.loadRecent')}
        </button>
        <button type="button" onClick={test} disabled={busy || !text.trim()}>
          {t('mon.test.run')}
        </button>
      </div>
      <ErrorBox error={error} />
      {result && (
        <div class="mon-test-result" aria-live="polite">
          <p>
            <strong>{t('mon.test.summary', { m: fmtNumber(result.matches.size), n: fmtNumber(result.lines.length) })}</strong>
          </p>
          <Table
            caption={t('mon.test.title')}
            columns={columns}
            rows={rows}
            rowKey={(r) => String(r.n)}
          />
        </div>
      )}
    </section>
  );
}

