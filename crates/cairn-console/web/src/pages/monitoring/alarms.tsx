// Alarms: the list (by state and name prefix; delete, enable and disable actions), the create page, and an alarm's
// page with every setting, its metric charted against the threshold, and its history. Both pages poll, since
// cairn moves alarms within moments of new data.
import { useEffect, useState } from 'preact/hooks';
import { cloudwatch } from '../../aws';
import { fmtTime, t, type Key } from '../../i18n';
import { go, href, useRoute } from '../../router';
import { ConfirmDelete } from '../../forms';
import { Badge, ErrorBox, Field, JsonView, KeyValues, Page, Pager, Panel, SidePanel, Spinner, Table, useLoad, useTokenPages } from '../../ui';
import { AlarmForm, MetricChart, RangeSelect, STATES, StateBadge, arnName, conditionText, opSymbol, statLabel, statOf, type Alarm } from './alarm-form';
import { NotFound, fmtDuration, usePagedLoad } from './shared';

/** A counter that advances every `ms` while the tab is visible: a load dependency that polls. */
function useTicks(ms: number): number {
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const id = setInterval(() => document.visibilityState === 'visible' && setTick((n) => n + 1), ms);
    return () => clearInterval(id);
  }, [ms]);
  return tick;
}

export function Alarms({ rest }: { rest: string[] }) {
  const route = useRoute();
  if (rest[0]) return <AlarmDetail name={rest[0]} />;
  if (route.query.has('create'))
    return (
      <Page title={t('mon.al.create')} lead={t('mon.al.createLead')}>
        <AlarmForm
          prefill={{ namespace: route.query.get('namespace') ?? undefined, metric: route.query.get('metric') ?? undefined }}
          onDone={(name) => (name ? go('monitoring', 'alarms', name) : go('monitoring', 'alarms'))}
        />
      </Page>
    );
  return <AlarmList />;
}

function ActionsCell({ a }: { a: Alarm }) {
  const arns = [...(a.AlarmActions ?? []), ...(a.OKActions ?? []), ...(a.InsufficientDataActions ?? [])];
  return (
    <span class="mon-actions-cell">
      <Badge tone={a.ActionsEnabled ? 'info' : 'off'}>{a.ActionsEnabled ? t('mon.al.actionsOn') : t('mon.al.actionsOff')}</Badge>{' '}
      {arns.length ? [...new Set(arns)].map((arn) => <span key={arn} title={arn} class="mon-topic">{arnName(arn)}</span>) : t('common.none')}
    </span>
  );
}

function AlarmList() {
  const tick = useTicks(15_000);
  const [state, setState] = useState('');
  const [draft, setDraft] = useState('');
  const [prefix, setPrefix] = useState('');
  const pages = useTokenPages();
  const list = usePagedLoad(
    () =>
      cloudwatch('DescribeAlarms', {
        AlarmTypes: ['MetricAlarm'],
        StateValue: state || undefined,
        AlarmNamePrefix: prefix || undefined,
        MaxRecords: 50,
        NextToken: pages.token,
      }),
    [state, prefix, pages.token],
    tick,
  );
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [deleting, setDeleting] = useState(false);
  const [error, setError] = useState<unknown>();
  const alarms: Alarm[] = list.data?.MetricAlarms ?? [];
  const chosen = alarms.filter((a) => selected.has(a.AlarmName)).map((a) => a.AlarmName);
  const toggle = (name: string, on: boolean) => {
    const s = new Set(selected);
    if (on) s.add(name);
    else s.delete(name);
    setSelected(s);
  };
  const bulk = async (op: 'EnableAlarmActions' | 'DisableAlarmActions') => {
    setError(undefined);
    try {
      await cloudwatch(op, { AlarmNames: chosen });
      list.reload();
    } catch (e) {
      setError(e);
    }
  };
  const columns = [
    {
      key: 'select',
      label: t('mon.al.select'),
      render: (a: Alarm) => (
        <input type="checkbox" checked={selected.has(a.AlarmName)} onChange={(e) => toggle(a.AlarmName, e.currentTarget.checked)} aria-label={t('mon.al.selectOne', { name: a.AlarmName })} />
      ),
      class: 'mon-select',
    },
    { key: 'name', label: t('mon.al.name'), render: (a: Alarm) => <a href={href('monitoring', 'alarms', a.AlarmName)}>{a.AlarmName}</a> },
    { key: 'state', label: t('mon.al.state'), render: (a: Alarm) => <StateBadge state={a.StateValue} /> },
    { key: 'updated', label: t('mon.al.lastUpdate'), render: (a: Alarm) => fmtTime(a.StateUpdatedTimestamp), class: 'mon-time' },
    { key: 'metric', label: t('mon.al.metric'), render: (a: Alarm) => (
        <span class="mon-metric">
          <small>{a.Namespace}</small> {a.MetricName}
        </span>
      ),
    },
    { key: 'conditions', label: t('mon.al.conditions'), render: (a: Alarm) => conditionText(a) },
    { key: 'actions', label: t('mon.al.actions'), render: (a: Alarm) => <ActionsCell a={a} /> },
  ];
  return (
    <Page
      title={t('nav.alarms')}
      lead={t('mon.al.lead')}
      actions={
        <>
          <button type="button" onClick={list.reload}>
            {t('common.refresh')}
          </button>
          <a class="mon-button primary" href="#/monitoring/alarms?create=1">
            {t('mon.al.create')}
          </a>
        </>
      }
    >
      <form
        class="toolbar panel"
        role="search"
        aria-label={t('mon.al.search')}
        onSubmit={(e) => {
          e.preventDefault();
          pages.reset();
          setPrefix(draft.trim());
        }}
      >
        <div class="grow">
          <Field label={t('mon.al.prefix')}>
            <input name="alarmNamePrefix" value={draft} onInput={(e) => setDraft(e.currentTarget.value)} spellcheck={false} />
          </Field>
        </div>
        <Field label={t('mon.al.state')}>
          <select
            name="stateValue"
            value={state}
            onChange={(e) => {
              pages.reset();
              setState(e.currentTarget.value);
            }}
          >
            <option value="">{t('mon.al.anyState')}</option>
            {STATES.map((s) => (
              <option key={s} value={s}>
                {t(`mon.state.${s}` as Key)}
              </option>
            ))}
          </select>
        </Field>
        <button type="submit" class="primary">
          {t('common.search')}
        </button>
      </form>
      <div class="mon-bulk" role="toolbar" aria-label={t('mon.al.bulk')}>
        <span class="hint">{t('mon.al.selected', { n: chosen.length })}</span>
        <button type="button" disabled={!chosen.length} onClick={() => bulk('EnableAlarmActions')}>
          {t('mon.al.enable')}
        </button>
        <button type="button" disabled={!chosen.length} onClick={() => bulk('DisableAlarmActions')}>
          {t('mon.al.disable')}
        </button>
        <button type="button" class="danger" disabled={!chosen.length} onClick={() => setDeleting(true)}>
          {t('common.delete')}
        </button>
      </div>
      <ErrorBox error={error ?? list.error} />
      {list.loading && !list.data ? (
        <Spinner />
      ) : (
        <>
          <Table caption={t('nav.alarms')} columns={columns} rows={alarms} rowKey={(a) => a.AlarmName} empty={t('mon.al.none')} />
          <Pager page={pages.page} hasPrev={pages.page > 1} hasNext={!!list.data?.NextToken} busy={list.busy} onPrev={pages.prev} onNext={() => pages.next(list.data.NextToken)} />
        </>
      )}
      {deleting && (
        <ConfirmDelete
          title={t('mon.al.deleteTitle', { n: chosen.length })}
          name={chosen.length === 1 ? chosen[0] : t('mon.al.deleteWord')}
          onConfirm={async () => {
            await cloudwatch('DeleteAlarms', { AlarmNames: chosen });
            setSelected(new Set());
            list.reload();
          }}
          onClose={() => setDeleting(false)}
        >
          <ul class="mon-list">
            {chosen.map((n) => (
              <li key={n}>{n}</li>
            ))}
          </ul>
        </ConfirmDelete>
      )}
    </Page>
  );
}

function AlarmDetail({ name }: { name: string }) {
  const tick = useTicks(5_000);
  const alarm = useLoad(() => cloudwatch('DescribeAlarms', { AlarmNames: [name] }).then((r) => (r.MetricAlarms?.[0] as Alarm) ?? null), [name, tick]);
  const [editing, setEditing] = useState(false);
  const [deleting, setDeleting] = useState(false);
  const [hours, setHours] = useState(3);
  const [error, setError] = useState<unknown>();
  const a = alarm.data;
  const toggleActions = async () => {
    setError(undefined);
    try {
      await cloudwatch(a?.ActionsEnabled ? 'DisableAlarmActions' : 'EnableAlarmActions', { AlarmNames: [name] });
      alarm.reload();
    } catch (e) {
      setError(e);
    }
  };
  if (editing && a)
    return (
      <Page title={t('mon.al.editTitle', { name })}>
        <AlarmForm
          alarm={a}
          onDone={() => {
            setEditing(false);
            alarm.reload();
          }}
        />
      </Page>
    );
  const actionList = (arns?: string[]) =>
    arns?.length ? (
      <ul class="mon-list">
        {arns.map((arn) => (
          <li key={arn} class="mono">
            {arn}
          </li>
        ))}
      </ul>
    ) : (
      t('common.none')
    );
  return (
    <Page
      title={name}
      actions={
        <>
          <a class="mon-back" href={href('monitoring', 'alarms')}>
            ‹ {t('nav.alarms')}
          </a>
          <button type="button" onClick={() => setEditing(true)} disabled={!a}>
            {t('common.edit')}
          </button>
          <button type="button" onClick={toggleActions} disabled={!a}>
            {a?.ActionsEnabled ? t('mon.al.disable') : t('mon.al.enable')}
          </button>
          <button type="button" class="danger" onClick={() => setDeleting(true)} disabled={!a}>
            {t('common.delete')}
          </button>
        </>
      }
    >
      <ErrorBox error={error ?? alarm.error} />
      {alarm.loading && alarm.data === undefined ? (
        <Spinner />
      ) : !a ? (
        !alarm.error && <NotFound message={t('mon.al.notFound', { name })} />
      ) : (
        <>
          <div class={`mon-state-banner ${a.StateValue}`} role="status" aria-live="polite">
            <StateBadge state={a.StateValue} />
            <span>{a.StateReason}</span>
            <small class="hint">{fmtTime(a.StateUpdatedTimestamp)}</small>
          </div>
          <Panel
            title={t('mon.al.graph')}
            actions={<RangeSelect hours={hours} onChange={setHours} />}
          >
            <MetricChart
              m={{ namespace: a.Namespace ?? '', metric: a.MetricName ?? '', dimensions: a.Dimensions ?? [], stat: statOf(a), period: a.Period ?? 60 }}
              hours={hours}
              threshold={a.Threshold}
              refresh={`${a.StateUpdatedTimestamp}-${Math.floor(tick / 3)}`}
            />
          </Panel>
          <Panel title={t('common.details')}>
            <KeyValues
              items={[
                [t('mon.al.state'), <StateBadge state={a.StateValue} />],
                [t('mon.al.conditions'), conditionText(a)],
                [t('mon.al.namespace'), a.Namespace],
                [t('mon.al.metricName'), a.MetricName],
                [t('mon.al.dimensions'), (a.Dimensions ?? []).map((x) => `${x.Name}=${x.Value}`).join(', ')],
                [t('mon.al.statistic'), statLabel(statOf(a))],
                [t('mon.al.period'), fmtDuration(a.Period ?? 60)],
                [t('mon.al.unit'), a.Unit],
                [t('mon.al.operator'), `${t(`mon.op.${a.ComparisonOperator}` as Key)} (${opSymbol(a.ComparisonOperator)})`],
                [t('mon.al.threshold'), a.Threshold],
                [t('mon.al.dta'), `${a.DatapointsToAlarm ?? a.EvaluationPeriods} / ${a.EvaluationPeriods}`],
                [t('mon.al.missing'), a.TreatMissingData && t(`mon.missing.${a.TreatMissingData}` as Key)],
                [t('mon.al.actions'), a.ActionsEnabled ? t('common.enabled') : t('common.disabled')],
                [t('mon.al.alarmActions'), actionList(a.AlarmActions)],
                [t('mon.al.okActions'), actionList(a.OKActions)],
                [t('mon.al.insufficientActions'), actionList(a.InsufficientDataActions)],
                [t('mon.al.description'), a.AlarmDescription],
                [t('mon.al.arn'), <span class="mono">{a.AlarmArn}</span>],
                [t('mon.al.configUpdated'), fmtTime(a.AlarmConfigurationUpdatedTimestamp)],
              ]}
            />
          </Panel>
          <AlarmHistory name={name} tick={tick} />
        </>
      )}
      {deleting && (
        <ConfirmDelete
          title={t('mon.al.deleteTitle', { n: 1 })}
          name={name}
          onConfirm={async () => {
            await cloudwatch('DeleteAlarms', { AlarmNames: [name] });
            go('monitoring', 'alarms');
          }}
          onClose={() => setDeleting(false)}
        />
      )}
    </Page>
  );
}

interface HistoryItem {
  Timestamp: number;
  HistoryItemType: string;
  HistorySummary: string;
  HistoryData?: string;
}

const HISTORY_TYPES = ['StateUpdate', 'ConfigurationUpdate', 'Action'];

function AlarmHistory({ name, tick }: { name: string; tick: number }) {
  const [type, setType] = useState('');
  const pages = useTokenPages();
  // Only the first page follows the clock; older pages do not change.
  const list = usePagedLoad(
    () => cloudwatch('DescribeAlarmHistory', { AlarmName: name, HistoryItemType: type || undefined, MaxRecords: 50, NextToken: pages.token }),
    [name, type, pages.token],
    pages.page === 1 ? tick : 0,
  );
  const [open, setOpen] = useState<HistoryItem | null>(null);
  const items: HistoryItem[] = list.data?.AlarmHistoryItems ?? [];
  const key = (h: HistoryItem) => `${h.Timestamp} ${h.HistoryItemType} ${h.HistorySummary}`;
  return (
    <Panel
      title={t('mon.hist.title')}
      actions={
        <label class="mon-inline">
          <span>{t('mon.hist.type')}</span>
          <select
            name="historyType"
            value={type}
            onChange={(e) => {
              pages.reset();
              setType(e.currentTarget.value);
            }}
          >
            <option value="">{t('mon.hist.all')}</option>
            {HISTORY_TYPES.map((h) => (
              <option key={h} value={h}>
                {t(`mon.hist.${h}` as Key)}
              </option>
            ))}
          </select>
        </label>
      }
    >
      <ErrorBox error={list.error} />
      {list.loading && !list.data ? (
        <Spinner />
      ) : (
        <>
          <Table
            caption={t('mon.hist.title')}
            columns={[
              { key: 'time', label: t('mon.hist.time'), render: (h: HistoryItem) => fmtTime(h.Timestamp), class: 'mon-time' },
              { key: 'type', label: t('mon.hist.type'), render: (h: HistoryItem) => <Badge tone="info">{t(`mon.hist.${h.HistoryItemType}` as Key) ?? h.HistoryItemType}</Badge> },
              { key: 'summary', label: t('mon.hist.summary'), render: (h: HistoryItem) => h.HistorySummary },
            ]}
            rows={items}
            rowKey={key}
            onOpen={setOpen}
            selected={open ? key(open) : undefined}
            empty={t('mon.hist.none')}
          />
          <Pager page={pages.page} hasPrev={pages.page > 1} hasNext={!!list.data?.NextToken} busy={list.busy} onPrev={pages.prev} onNext={() => pages.next(list.data.NextToken)} />
        </>
      )}
      {open && (
        <SidePanel title={t('mon.hist.panel')} onClose={() => setOpen(null)}>
          <KeyValues
            items={[
              [t('mon.hist.time'), fmtTime(open.Timestamp)],
              [t('mon.hist.type'), t(`mon.hist.${open.HistoryItemType}` as Key)],
              [t('mon.hist.summary'), open.HistorySummary],
            ]}
          />
          <h3>{t('mon.hist.data')}</h3>
          <JsonView value={open.HistoryData ?? '{}'} />
        </SidePanel>
      )}
    </Panel>
  );
}
