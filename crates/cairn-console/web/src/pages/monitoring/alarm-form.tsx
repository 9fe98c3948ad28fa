// What the alarm pages share: the alarm's shape and wording (state badge, condition), the metric chart
// (GetMetricStatistics with the threshold line), and the create/edit form (PutMetricAlarm, with the metric picked
// from ListMetrics and SNS topics from ListTopics or created with CreateTopic).
import { useState } from 'preact/hooks';
import { cloudwatch, sns, xmlAll } from '../../aws';
import { t, type Key } from '../../i18n';
import { Badge, ErrorBox, Field, Panel, Spinner, TimeChart, useLoad } from '../../ui';
import { fmtDuration } from './shared';

export interface Dimension {
  Name: string;
  Value: string;
}

export interface Alarm {
  AlarmName: string;
  AlarmArn?: string;
  AlarmDescription?: string;
  StateValue: 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';
  StateReason?: string;
  StateReasonData?: string;
  StateUpdatedTimestamp?: number;
  AlarmConfigurationUpdatedTimestamp?: number;
  ActionsEnabled?: boolean;
  AlarmActions?: string[];
  OKActions?: string[];
  InsufficientDataActions?: string[];
  Namespace?: string;
  MetricName?: string;
  Statistic?: string;
  ExtendedStatistic?: string;
  Dimensions?: Dimension[];
  Period?: number;
  Unit?: string;
  EvaluationPeriods: number;
  DatapointsToAlarm?: number;
  Threshold?: number;
  ComparisonOperator: string;
  TreatMissingData?: string;
}

export const STATES = ['ALARM', 'OK', 'INSUFFICIENT_DATA'] as const;
const STATE_TONE = { ALARM: 'bad', OK: 'ok', INSUFFICIENT_DATA: 'off' } as const;

export function StateBadge({ state }: { state: Alarm['StateValue'] }) {
  return (
    <span class="mon-state" data-state={state}>
      <Badge tone={STATE_TONE[state] ?? 'info'}>{t(`mon.state.${state}` as Key)}</Badge>
    </span>
  );
}

const OPERATORS: [string, string][] = [
  ['GreaterThanOrEqualToThreshold', '>='],
  ['GreaterThanThreshold', '>'],
  ['LessThanThreshold', '<'],
  ['LessThanOrEqualToThreshold', '<='],
];
const STATISTICS = ['Sum', 'Average', 'Minimum', 'Maximum', 'SampleCount', 'p50', 'p90', 'p95', 'p99'];
const PERIODS = [60, 300, 900, 3600, 21600, 86400];
const MISSING = ['missing', 'notBreaching', 'breaching', 'ignore'];

export function opSymbol(op: string): string {
  return OPERATORS.find((o) => o[0] === op)?.[1] ?? op;
}

export function statOf(a: Alarm): string {
  return a.Statistic ?? a.ExtendedStatistic ?? '';
}

export function statLabel(stat: string): string {
  return stat.startsWith('p') ? stat : t(`mon.stat.${stat}` as Key);
}

/** The alarm's condition as CloudWatch's console words it: "Errors >= 1 for 1 datapoints within 5 minutes". */
export function conditionText(a: Alarm): string {
  return t('mon.al.conditionText', {
    metric: a.MetricName ?? '',
    op: opSymbol(a.ComparisonOperator),
    threshold: a.Threshold ?? '',
    m: a.DatapointsToAlarm ?? a.EvaluationPeriods,
    within: fmtDuration((a.Period ?? 60) * a.EvaluationPeriods),
  });
}

/** The last part of an ARN (a topic's name), for display. */
export function arnName(arn: string): string {
  return arn.split(':').pop() ?? arn;
}

export interface MetricRef {
  namespace: string;
  metric: string;
  dimensions: Dimension[];
  stat: string;
  period: number;
}

/** A metric's statistic over the last `hours`, with the alarm's threshold as a dashed line. */
export function MetricChart({ m, hours, threshold, refresh }: { m: MetricRef; hours: number; threshold?: number; refresh?: unknown }) {
  const data = useLoad(async () => {
    const end = Math.floor(Date.now() / 1000);
    // At most 1,440 datapoints per call: widen the period for long ranges.
    const period = Math.max(m.period, Math.ceil((hours * 3600) / 1400 / 60) * 60);
    const ext = m.stat.startsWith('p');
    const r = await cloudwatch('GetMetricStatistics', {
      Namespace: m.namespace,
      MetricName: m.metric,
      Dimensions: m.dimensions,
      StartTime: end - hours * 3600,
      EndTime: end,
      Period: period,
      Statistics: ext ? undefined : [m.stat],
      ExtendedStatistics: ext ? [m.stat] : undefined,
    });
    const points: [number, number][] = (r.Datapoints ?? [])
      .map((d: any) => [d.Timestamp * 1000, ext ? d.ExtendedStatistics?.[m.stat] : d[m.stat]] as [number, number])
      .filter((p: [number, number]) => typeof p[1] === 'number');
    return { points, period, domain: [(end - hours * 3600) * 1000, end * 1000] as [number, number] };
  }, [m.namespace, m.metric, JSON.stringify(m.dimensions), m.stat, m.period, hours, refresh]);
  if (data.error) return <ErrorBox error={data.error} />;
  if (!data.data) return <Spinner />;
  const label = `${m.metric} (${statLabel(m.stat)}, ${fmtDuration(data.data.period)})`;
  return (
    <>
      <TimeChart label={t('mon.chart.label', { metric: label })} series={[{ label, points: data.data.points }]} threshold={threshold} domain={data.data.domain} />
      <p class="hint">
        {label}
        {threshold !== undefined && ' · ' + t('mon.chart.threshold', { v: threshold })}
      </p>
    </>
  );
}

/** Every SNS topic of the account in this region. */
async function listTopics(): Promise<string[]> {
  const out: string[] = [];
  let token: string | undefined;
  do {
    const doc = await sns('ListTopics', token ? { NextToken: token } : {});
    out.push(...xmlAll(doc, 'TopicArn'));
    token = xmlAll(doc, 'NextToken')[0] || undefined;
  } while (token);
  return out.sort();
}

interface Metric {
  Namespace: string;
  MetricName: string;
  Dimensions?: Dimension[];
}

/** Metrics to choose from (the first 2,000). */
async function listMetrics(): Promise<Metric[]> {
  const out: Metric[] = [];
  let token: string | undefined;
  do {
    const r = await cloudwatch('ListMetrics', { NextToken: token });
    out.push(...(r.Metrics ?? []));
    token = r.NextToken;
  } while (token && out.length < 2000);
  return out.sort((a, b) => (a.Namespace + a.MetricName).localeCompare(b.Namespace + b.MetricName));
}

const NEW_TOPIC = '\u0000new';

interface Notification {
  state: Alarm['StateValue'];
  topic: string;
  newName: string;
}

interface Draft {
  namespace: string;
  metric: string;
  dimensions: Dimension[];
  stat: string;
  period: string;
  evals: string;
  dta: string;
  op: string;
  threshold: string;
  missing: string;
  name: string;
  description: string;
  notifications: Notification[];
}

function draftOf(a: Alarm | undefined, prefill: { namespace?: string; metric?: string }): Draft {
  const notifications: Notification[] = [];
  if (a) {
    const lists: [Alarm['StateValue'], string[] | undefined][] = [['ALARM', a.AlarmActions], ['OK', a.OKActions], ['INSUFFICIENT_DATA', a.InsufficientDataActions]];
    for (const [state, arns] of lists) for (const topic of arns ?? []) notifications.push({ state, topic, newName: '' });
  }
  return {
    namespace: a?.Namespace ?? prefill.namespace ?? '',
    metric: a?.MetricName ?? prefill.metric ?? '',
    dimensions: a?.Dimensions ?? [],
    stat: a ? statOf(a) : 'Sum',
    period: String(a?.Period ?? 300),
    evals: String(a?.EvaluationPeriods ?? 1),
    dta: String(a?.DatapointsToAlarm ?? a?.EvaluationPeriods ?? 1),
    op: a?.ComparisonOperator ?? 'GreaterThanOrEqualToThreshold',
    threshold: a?.Threshold === undefined ? '' : String(a.Threshold),
    missing: a?.TreatMissingData ?? 'missing',
    name: a?.AlarmName ?? '',
    description: a?.AlarmDescription ?? '',
    notifications,
  };
}

/** Creates (or, given `alarm`, replaces) a metric alarm; `onDone` gets the alarm's name, or nothing on cancel. */
export function AlarmForm({ alarm, prefill = {}, onDone }: { alarm?: Alarm; prefill?: { namespace?: string; metric?: string }; onDone: (name?: string) => void }) {
  const [d, setD] = useState<Draft>(() => draftOf(alarm, prefill));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const [hours, setHours] = useState(3);
  const topics = useLoad(listTopics, []);
  const metrics = useLoad(listMetrics, []);
  const set = (k: keyof Draft) => (e: Event) => setD({ ...d, [k]: (e.currentTarget as HTMLInputElement).value });
  const setMetricField = (k: 'namespace' | 'metric') => (e: Event) => setD({ ...d, [k]: (e.currentTarget as HTMLInputElement).value, dimensions: [] });
  const setNote = (i: number, patch: Partial<Notification>) => setD({ ...d, notifications: d.notifications.map((n, j) => (j === i ? { ...n, ...patch } : n)) });
  const metricKey = (m: Metric) => JSON.stringify([m.Namespace, m.MetricName, m.Dimensions ?? []]);
  const current = JSON.stringify([d.namespace, d.metric, d.dimensions]);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const actions: Record<Alarm['StateValue'], string[]> = { ALARM: [], OK: [], INSUFFICIENT_DATA: [] };
      for (const n of d.notifications) {
        let arn = n.topic;
        if (arn === NEW_TOPIC) arn = xmlAll(await sns('CreateTopic', { Name: n.newName.trim() }), 'TopicArn')[0];
        if (arn && !actions[n.state].includes(arn)) actions[n.state].push(arn);
      }
      const ext = d.stat.startsWith('p');
      await cloudwatch('PutMetricAlarm', {
        AlarmName: d.name.trim(),
        AlarmDescription: d.description || undefined,
        ActionsEnabled: alarm?.ActionsEnabled ?? true,
        AlarmActions: actions.ALARM,
        OKActions: actions.OK,
        InsufficientDataActions: actions.INSUFFICIENT_DATA,
        Namespace: d.namespace.trim(),
        MetricName: d.metric.trim(),
        Dimensions: d.dimensions,
        Statistic: ext ? undefined : d.stat,
        ExtendedStatistic: ext ? d.stat : undefined,
        Period: Number(d.period),
        Unit: alarm?.Unit,
        EvaluationPeriods: Number(d.evals),
        DatapointsToAlarm: Number(d.dta),
        Threshold: Number(d.threshold),
        ComparisonOperator: d.op,
        TreatMissingData: d.missing,
      });
      onDone(d.name.trim());
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };

  const chartable = d.namespace.trim() && d.metric.trim();
  return (
    <form class="mon-editor" onSubmit={submit} aria-label={alarm ? t('mon.al.editTitle', { name: alarm.AlarmName }) : t('mon.al.create')}>
      <div class="grid2">
        <Panel title={t('mon.al.metricStep')}>
          <Field label={t('mon.al.pickMetric')} hint={t('mon.al.pickMetricHint')} optional>
            <select
              name="pickMetric"
              value={metrics.data?.some((m) => metricKey(m) === current) ? current : ''}
              onChange={(e) => {
                const m = metrics.data?.find((x) => metricKey(x) === e.currentTarget.value);
                if (m) setD({ ...d, namespace: m.Namespace, metric: m.MetricName, dimensions: m.Dimensions ?? [] });
              }}
            >
              <option value="">{metrics.loading ? t('common.loading') : t('mon.al.pickNone', { n: metrics.data?.length ?? 0 })}</option>
              {metrics.data?.map((m) => (
                <option key={metricKey(m)} value={metricKey(m)}>
                  {m.Namespace} › {m.MetricName}
                  {m.Dimensions?.length ? ` (${m.Dimensions.map((x) => `${x.Name}=${x.Value}`).join(', ')})` : ''}
                </option>
              ))}
            </select>
          </Field>
          <ErrorBox error={metrics.error} />
          <div class="mon-pair">
            <Field label={t('mon.al.namespace')}>
              <input name="namespace" value={d.namespace} onInput={setMetricField('namespace')} required spellcheck={false} />
            </Field>
            <Field label={t('mon.al.metricName')}>
              <input name="metricName" value={d.metric} onInput={setMetricField('metric')} required spellcheck={false} />
            </Field>
          </div>
          {d.dimensions.length > 0 && (
            <p class="hint">
              {t('mon.al.dimensions')}: {d.dimensions.map((x) => `${x.Name}=${x.Value}`).join(', ')}
            </p>
          )}
          <div class="mon-pair">
            <Field label={t('mon.al.statistic')}>
              <select name="statistic" value={d.stat} onChange={set('stat')}>
                {STATISTICS.map((s) => (
                  <option key={s} value={s}>
                    {statLabel(s)}
                  </option>
                ))}
              </select>
            </Field>
            <Field label={t('mon.al.period')}>
              <select name="period" value={d.period} onChange={set('period')}>
                {PERIODS.map((p) => (
                  <option key={p} value={String(p)}>
                    {fmtDuration(p)}
                  </option>
                ))}
              </select>
            </Field>
          </div>
          {chartable && (
            <div class="mon-preview">
              <div class="mon-chart-head">
                <h3>{t('mon.al.preview')}</h3>
                <RangeSelect hours={hours} onChange={setHours} />
              </div>
              <MetricChart
                m={{ namespace: d.namespace.trim(), metric: d.metric.trim(), dimensions: d.dimensions, stat: d.stat, period: Number(d.period) }}
                hours={hours}
                threshold={d.threshold.trim() === '' ? undefined : Number(d.threshold)}
              />
            </div>
          )}
        </Panel>
        <Panel title={t('mon.al.conditionsStep')}>
          <div class="mon-pair">
            <Field label={t('mon.al.operator')}>
              <select name="comparisonOperator" value={d.op} onChange={set('op')}>
                {OPERATORS.map(([op, sym]) => (
                  <option key={op} value={op}>
                    {t(`mon.op.${op}` as Key)} ({sym})
                  </option>
                ))}
              </select>
            </Field>
            <Field label={t('mon.al.threshold')}>
              <input name="threshold" type="number" step="any" value={d.threshold} onInput={set('threshold')} required />
            </Field>
          </div>
          <div class="mon-pair">
            <Field label={t('mon.al.dta')} hint={t('mon.al.dtaHint')}>
              <input name="datapointsToAlarm" type="number" min={1} max={Number(d.evals) || 1} value={d.dta} onInput={set('dta')} required />
            </Field>
            <Field label={t('mon.al.evals')}>
              <input name="evaluationPeriods" type="number" min={1} value={d.evals} onInput={set('evals')} required />
            </Field>
          </div>
          <Field label={t('mon.al.missing')}>
            <select name="treatMissingData" value={d.missing} onChange={set('missing')}>
              {MISSING.map((m) => (
                <option key={m} value={m}>
                  {t(`mon.missing.${m}` as Key)}
                </option>
              ))}
            </select>
          </Field>
          <fieldset>
            <legend>{t('mon.al.notifications')}</legend>
            <ErrorBox error={topics.error} />
            {d.notifications.length === 0 && <p class="hint">{t('mon.al.noNotifications')}</p>}
            {d.notifications.map((n, i) => (
              <div class="mon-note" key={i}>
                <Field label={t('mon.al.whenState')}>
                  <select name={`noteState${i}`} value={n.state} onChange={(e) => setNote(i, { state: e.currentTarget.value as Alarm['StateValue'] })}>
                    {STATES.map((s) => (
                      <option key={s} value={s}>
                        {t(`mon.state.${s}` as Key)}
                      </option>
                    ))}
                  </select>
                </Field>
                <Field label={t('mon.al.topic')}>
                  <select name={`noteTopic${i}`} value={n.topic} onChange={(e) => setNote(i, { topic: e.currentTarget.value })} required>
                    <option value="">{t('mon.al.chooseTopic')}</option>
                    {(topics.data ?? []).concat(n.topic && n.topic !== NEW_TOPIC && !topics.data?.includes(n.topic) ? [n.topic] : []).map((arn) => (
                      <option key={arn} value={arn}>
                        {arnName(arn)}
                      </option>
                    ))}
                    <option value={NEW_TOPIC}>{t('mon.al.newTopic')}</option>
                  </select>
                </Field>
                {n.topic === NEW_TOPIC && (
                  <Field label={t('mon.al.newTopicName')} hint={t('mon.al.newTopicHint')}>
                    <input name={`noteNewTopic${i}`} value={n.newName} onInput={(e) => setNote(i, { newName: e.currentTarget.value })} required pattern="[A-Za-z0-9_\-]{1,256}" />
                  </Field>
                )}
                <button type="button" class="mon-remove" onClick={() => setD({ ...d, notifications: d.notifications.filter((_, j) => j !== i) })}>
                  {t('mon.al.removeNotification')}
                </button>
              </div>
            ))}
            <button type="button" onClick={() => setD({ ...d, notifications: [...d.notifications, { state: 'ALARM', topic: '', newName: '' }] })}>
              {t('mon.al.addNotification')}
            </button>
          </fieldset>
        </Panel>
      </div>
      <Panel title={t('mon.al.nameStep')}>
        <Field label={t('mon.al.name')}>
          <input name="alarmName" value={d.name} onInput={set('name')} required maxLength={255} disabled={!!alarm} spellcheck={false} />
        </Field>
        <Field label={t('mon.al.description')} optional>
          <textarea name="alarmDescription" rows={2} value={d.description} onInput={set('description')} maxLength={1024} />
        </Field>
        <ErrorBox error={error} />
        <div class="mon-form-buttons">
          <button type="button" onClick={() => onDone()}>
            {t('common.cancel')}
          </button>
          <button type="submit" class="primary" disabled={busy}>
            {alarm ? t('common.save') : t('mon.al.create')}
          </button>
        </div>
      </Panel>
    </form>
  );
}

/** The chart's time range: 3 hours or 1 day. */
export function RangeSelect({ hours, onChange }: { hours: number; onChange: (h: number) => void }) {
  return (
    <label class="mon-inline">
      <span>{t('mon.range')}</span>
      <select name="chartRange" value={String(hours)} onChange={(e) => onChange(Number(e.currentTarget.value))}>
        <option value="3">{t('mon.range.3h')}</option>
        <option value="24">{t('mon.range.1d')}</option>
      </select>
    </label>
  );
}
