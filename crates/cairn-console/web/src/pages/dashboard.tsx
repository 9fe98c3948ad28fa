// The dashboard: trails with their logging state and last delivery or error, the newest events, Insights
// selection, event data stores and alarms in ALARM.
import { cloudtrail, cloudwatch } from '../aws';
import { fmtTime, t } from '../i18n';
import { go, href } from '../router';
import { session } from '../session';
import { ErrorBox, Page, Panel, Spinner, Table, useLoad } from '../ui';
import { StateBadge } from './monitoring/alarm-form';
import type { TrailEvent } from './events';
import { loggingBadge, trailsWithStatus } from './trails';

export function Dashboard() {
  const trails = useLoad((signal) => trailsWithStatus(signal), []);
  const events = useLoad((signal) => cloudtrail('LookupEvents', { MaxResults: 10 }, signal).then((r) => (r.Events ?? []) as TrailEvent[]), []);
  const insights = useLoad(
    async (signal) => {
      const own = (trails.data ?? []).filter(([tr]) => tr.HasInsightSelectors);
      const answers = await Promise.all(own.map(([tr]) => cloudtrail('GetInsightSelectors', { TrailName: tr.TrailARN }, signal)));
      const types = new Set(answers.flatMap((a) => (a.InsightSelectors ?? []).map((s: { InsightType: string }) => s.InsightType)));
      // Insights events themselves, when any trail has recorded some.
      const found = await cloudtrail('LookupEvents', { EventCategory: 'insight', MaxResults: 5 }, signal);
      return { trails: own.length, types: [...types], events: (found.Events ?? []) as TrailEvent[] };
    },
    [trails.data],
  );
  const stores = useLoad((signal) => cloudtrail('ListEventDataStores', { MaxResults: 25 }, signal).then((r) => r.EventDataStores ?? []), []);
  const alarms = useLoad(() => cloudwatch('DescribeAlarms', { StateValue: 'ALARM', MaxRecords: 10 }).then((r) => r.MetricAlarms ?? []), []);

  return (
    <Page title={t('dash.title')}>
      <div class="grid2">
        <Panel
          title={t('dash.trails')}
          actions={
            <>
              <a href={href('trails')}>{t('dash.viewAll')}</a>
              <a class="button primary" href={href('create-trail')}>
                {t('dash.createTrail')}
              </a>
            </>
          }
        >
          <ErrorBox error={trails.error} />
          {trails.loading && !trails.data ? (
            <Spinner />
          ) : (
            <Table
              caption={t('dash.trails')}
              rows={trails.data ?? []}
              rowKey={([tr]) => tr.TrailARN}
              onOpen={([tr]) => go('trails', tr.HomeRegion === session.region() ? tr.Name : tr.TrailARN)}
              empty={t('dash.noTrails')}
              columns={[
                { key: 'name', label: t('trails.col.name'), render: ([tr]) => tr.Name },
                { key: 'status', label: t('trails.col.status'), render: ([, s]) => loggingBadge(s) },
                {
                  key: 'last',
                  label: t('dash.lastDelivery'),
                  render: ([, s]) => (s?.LatestDeliveryError ? `${t('dash.lastError')}: ${s.LatestDeliveryError}` : fmtTime(s?.LatestDeliveryTime)),
                },
              ]}
            />
          )}
        </Panel>
        <Panel title={t('dash.insights')}>
          <ErrorBox error={insights.error} />
          <p>{insights.data?.trails ? t('dash.insightsOn', { n: insights.data.trails, types: insights.data.types.join(', ') }) : t('dash.noInsights')}</p>
          {insights.data?.events.length ? (
            <ul>
              {insights.data.events.map((e) => (
                <li key={e.EventId}>
                  <a href={`#/events?category=insight&key=EventId&value=${encodeURIComponent(e.EventId)}`}>{e.EventName}</a> {fmtTime(e.EventTime)}
                </li>
              ))}
            </ul>
          ) : null}
          <h3>{t('dash.stores')}</h3>
          <ErrorBox error={stores.error} />
          <p class="stat">{stores.data?.length ?? '…'}</p>
          <h3>{t('dash.alarms')}</h3>
          <ErrorBox error={alarms.error} />
          {alarms.data?.length ? (
            <ul>
              {alarms.data.map((a: { AlarmName: string }) => (
                <li key={a.AlarmName}>
                  <StateBadge state="ALARM" /> <a href={href('monitoring', 'alarms', a.AlarmName)}>{a.AlarmName}</a>
                </li>
              ))}
            </ul>
          ) : (
            <p class="hint">{t('dash.noAlarms')}</p>
          )}
        </Panel>
      </div>
      <Panel title={t('dash.recent')} actions={<a href={href('events')}>{t('dash.viewAll')}</a>}>
        <ErrorBox error={events.error} />
        {events.loading && !events.data ? (
          <Spinner />
        ) : (
          <Table
            caption={t('dash.recent')}
            rows={events.data ?? []}
            rowKey={(e) => e.EventId}
            onOpen={(e) => (location.hash = `#/events?key=EventId&value=${encodeURIComponent(e.EventId)}`)}
            columns={[
              { key: 'name', label: t('events.col.name'), render: (e) => e.EventName },
              { key: 'time', label: t('events.col.time'), render: (e) => fmtTime(e.EventTime), class: 'nowrap' },
              { key: 'user', label: t('events.col.user'), render: (e) => e.Username ?? '—' },
              { key: 'source', label: t('events.col.source'), render: (e) => e.EventSource },
            ]}
          />
        )}
      </Panel>
    </Page>
  );
}
