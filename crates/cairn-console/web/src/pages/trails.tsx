// Trails: the list with each trail's logging state and last delivery, the detail page (status, every setting,
// selectors, tags, the newest delivered files; start and stop logging, apply to all regions, delete), and edit.
import { useState } from 'preact/hooks';
import { callerIdentity, cloudtrail, s3, xmlAll } from '../aws';
import { fmtBytes, fmtTime, t } from '../i18n';
import { go, href } from '../router';
import { session } from '../session';
import { ConfirmDelete } from '../forms';
import { Badge, Check, ErrorBox, Field, JsonView, KeyValues, Page, Panel, Spinner, Table, useLoad, yesNo } from '../ui';
import { choiceFrom, EventsStep, insightSelectorsFor, selectorsFor, type EventChoice } from './trailwizard';

export interface Trail {
  Name: string;
  TrailARN: string;
  HomeRegion: string;
  IsMultiRegionTrail: boolean;
  IsOrganizationTrail: boolean;
  S3BucketName: string;
  S3KeyPrefix?: string;
  SnsTopicARN?: string;
  IncludeGlobalServiceEvents?: boolean;
  LogFileValidationEnabled?: boolean;
  KmsKeyId?: string;
  CloudWatchLogsLogGroupArn?: string;
  CloudWatchLogsRoleArn?: string;
  HasCustomEventSelectors?: boolean;
  HasInsightSelectors?: boolean;
}

export interface TrailStatus {
  IsLogging: boolean;
  LatestDeliveryTime?: number;
  LatestDeliveryError?: string;
  LatestDigestDeliveryTime?: number;
  LatestCloudWatchLogsDeliveryTime?: number;
  LatestNotificationTime?: number;
  StartLoggingTime?: number;
  StopLoggingTime?: number;
}

/** Every trail visible in this region (shadows of multi-region trails too), each with its status. */
export async function trailsWithStatus(signal?: AbortSignal): Promise<[Trail, TrailStatus | null][]> {
  const r = await cloudtrail('DescribeTrails', { includeShadowTrails: true }, signal);
  const trails: Trail[] = r.trailList ?? [];
  return Promise.all(
    trails.map(async (tr) => [tr, await cloudtrail<TrailStatus>('GetTrailStatus', { Name: tr.TrailARN }, signal).catch(() => null)] as [Trail, TrailStatus | null]),
  );
}

export function loggingBadge(s: TrailStatus | null) {
  if (!s) return <Badge tone="off">—</Badge>;
  if (s.LatestDeliveryError) return <Badge tone="bad">{s.LatestDeliveryError}</Badge>;
  return s.IsLogging ? <Badge tone="ok">{t('trails.logging')}</Badge> : <Badge tone="off">{t('trails.off')}</Badge>;
}

export function Trails({ rest }: { rest: string[] }) {
  if (rest[0] && rest[1] === 'edit') return <TrailEdit id={rest[0]} />;
  if (rest[0]) return <TrailDetail id={rest[0]} />;
  return <TrailList />;
}

function TrailList() {
  const { data, error, loading, reload } = useLoad((signal) => trailsWithStatus(signal), []);
  const logGroup = (arn?: string) => arn?.split(':log-group:')[1]?.replace(/:\*$/, '');
  return (
    <Page
      title={t('trails.title')}
      lead={t('trails.lead')}
      actions={
        <>
          <button type="button" onClick={reload}>
            {t('common.refresh')}
          </button>
          <a class="button primary" href={href('create-trail')}>
            {t('trails.create')}
          </a>
        </>
      }
    >
      <ErrorBox error={error} />
      {loading && !data ? (
        <Spinner />
      ) : (
        <Table
          caption={t('trails.title')}
          rows={data ?? []}
          rowKey={([tr]) => tr.TrailARN}
          onOpen={([tr]) => go('trails', tr.HomeRegion === session.region() ? tr.Name : tr.TrailARN)}
          empty={t('trails.none')}
          columns={[
            { key: 'name', label: t('trails.col.name'), render: ([tr]) => <strong>{tr.Name}</strong> },
            { key: 'home', label: t('trails.col.homeRegion'), render: ([tr]) => tr.HomeRegion },
            { key: 'multi', label: t('trails.col.multiRegion'), render: ([tr]) => yesNo(tr.IsMultiRegionTrail) },
            { key: 'org', label: t('trails.col.org'), render: ([tr]) => yesNo(tr.IsOrganizationTrail) },
            { key: 'bucket', label: t('trails.col.bucket'), render: ([tr]) => tr.S3BucketName },
            { key: 'prefix', label: t('trails.col.prefix'), render: ([tr]) => tr.S3KeyPrefix || '—' },
            { key: 'cwl', label: t('trails.col.logGroup'), render: ([tr]) => logGroup(tr.CloudWatchLogsLogGroupArn) || '—' },
            { key: 'status', label: t('trails.col.status'), render: ([, s]) => loggingBadge(s) },
            { key: 'last', label: t('trails.col.lastDelivery'), render: ([, s]) => fmtTime(s?.LatestDeliveryTime), class: 'nowrap' },
          ]}
        />
      )}
    </Page>
  );
}

interface Detail {
  trail: Trail;
  status: TrailStatus;
  selectors: any;
  insights: any;
  tags: { Key: string; Value?: string }[];
}

async function loadDetail(id: string, signal: AbortSignal): Promise<Detail> {
  const { Trail: trail } = await cloudtrail('GetTrail', { Name: id }, signal);
  const [status, selectors, insights, tags] = await Promise.all([
    cloudtrail('GetTrailStatus', { Name: trail.TrailARN }, signal),
    cloudtrail('GetEventSelectors', { TrailName: trail.TrailARN }, signal),
    trail.HasInsightSelectors ? cloudtrail('GetInsightSelectors', { TrailName: trail.TrailARN }, signal) : Promise.resolve({}),
    trail.HomeRegion === session.region()
      ? cloudtrail('ListTags', { ResourceIdList: [trail.TrailARN] }, signal).then((r) => r.ResourceTagList?.[0]?.TagsList ?? [])
      : Promise.resolve([]),
  ]);
  return { trail, status, selectors, insights, tags };
}

function TrailDetail({ id }: { id: string }) {
  const { data, error, loading, reload } = useLoad((signal) => loadDetail(id, signal), [id]);
  const [actionError, setActionError] = useState<unknown>();
  const [notice, setNotice] = useState('');
  const [deleting, setDeleting] = useState(false);
  const [busy, setBusy] = useState(false);

  const act = async (f: () => Promise<unknown>, done = '') => {
    setBusy(true);
    setActionError(undefined);
    setNotice('');
    try {
      await f();
      setNotice(done);
      reload();
    } catch (e) {
      setActionError(e);
    }
    setBusy(false);
  };

  if (!data) return <Page title={id}>{loading ? <Spinner /> : <ErrorBox error={error} />}</Page>;
  const { trail, status } = data;
  const home = trail.HomeRegion === session.region();
  return (
    <Page
      title={trail.Name}
      actions={
        home && (
          <>
            <button type="button" onClick={reload}>
              {t('common.refresh')}
            </button>
            {status.IsLogging ? (
              <button type="button" disabled={busy} onClick={() => act(() => cloudtrail('StopLogging', { Name: trail.Name }))}>
                {t('trails.stop')}
              </button>
            ) : (
              <button type="button" class="primary" disabled={busy} onClick={() => act(() => cloudtrail('StartLogging', { Name: trail.Name }))}>
                {t('trails.start')}
              </button>
            )}
            {!trail.IsMultiRegionTrail && (
              <button
                type="button"
                disabled={busy}
                onClick={() => act(() => cloudtrail('UpdateTrail', { Name: trail.Name, IsMultiRegionTrail: true, IncludeGlobalServiceEvents: true }), t('trails.toMultiRegionDone'))}
              >
                {t('trails.toMultiRegion')}
              </button>
            )}
            <a class="button" href={href('trails', trail.Name, 'edit')}>
              {t('common.edit')}
            </a>
            <button type="button" class="danger" onClick={() => setDeleting(true)}>
              {t('common.delete')}
            </button>
          </>
        )
      }
    >
      {!home && <p class="alert info">{t('trails.shadow', { region: trail.HomeRegion })}</p>}
      {notice && (
        <p class="alert ok" role="status">
          {notice}
        </p>
      )}
      <ErrorBox error={actionError ?? error} />
      <Panel title={t('trails.statusTitle')}>
        <KeyValues
          items={[
            [t('trails.col.status'), loggingBadge(status)],
            [t('trails.col.lastDelivery'), fmtTime(status.LatestDeliveryTime)],
            [t('trails.lastError'), status.LatestDeliveryError],
            [t('trails.lastDigest'), fmtTime(status.LatestDigestDeliveryTime)],
            [t('trails.lastCwl'), fmtTime(status.LatestCloudWatchLogsDeliveryTime)],
            [t('trails.lastNotification'), fmtTime(status.LatestNotificationTime)],
            [t('trails.startedAt'), fmtTime(status.StartLoggingTime)],
            [t('trails.stoppedAt'), fmtTime(status.StopLoggingTime)],
          ]}
        />
      </Panel>
      <Panel title={t('trails.general')}>
        <KeyValues
          items={[
            [t('trails.arn'), <span class="mono">{trail.TrailARN}</span>],
            [t('trails.col.homeRegion'), trail.HomeRegion],
            [t('trails.col.multiRegion'), yesNo(trail.IsMultiRegionTrail)],
            [t('trails.col.org'), yesNo(trail.IsOrganizationTrail)],
            [t('trails.col.bucket'), trail.S3BucketName],
            [t('trails.col.prefix'), trail.S3KeyPrefix],
            [t('trails.validation'), trail.LogFileValidationEnabled ? t('common.enabled') : t('common.disabled')],
            [t('trails.kms'), trail.KmsKeyId ?? t('common.disabled')],
            [t('trails.sns'), trail.SnsTopicARN],
            [t('trails.globalEvents'), yesNo(trail.IncludeGlobalServiceEvents)],
            [t('trails.cwl'), trail.CloudWatchLogsLogGroupArn],
            [t('trails.cwlRole'), trail.CloudWatchLogsRoleArn],
          ]}
        />
      </Panel>
      <Panel title={t('trails.selectors')}>
        <JsonView value={data.selectors.AdvancedEventSelectors ?? data.selectors.EventSelectors ?? []} />
        {data.insights?.InsightSelectors && (
          <>
            <h3>{t('trails.insightSelectors')}</h3>
            <JsonView value={data.insights.InsightSelectors} />
          </>
        )}
      </Panel>
      {data.tags.length > 0 && (
        <Panel title={t('trails.tags')}>
          <KeyValues items={data.tags.map((tag) => [tag.Key, tag.Value ?? ''])} />
        </Panel>
      )}
      <DeliveredFiles trail={trail} />
      {deleting && (
        <ConfirmDelete
          title={t('trails.delete')}
          name={trail.Name}
          onClose={() => setDeleting(false)}
          onConfirm={async () => {
            await cloudtrail('DeleteTrail', { Name: trail.Name });
            go('trails');
          }}
        >
          <p>{t('trails.deleteLead')}</p>
        </ConfirmDelete>
      )}
    </Page>
  );
}

interface S3Object {
  key: string;
  size: number;
  modified: string;
}

/** One page of a ListObjectsV2 answer: its objects and its common prefixes. */
async function listObjects(bucket: string, prefix: string, delimiter: string, signal: AbortSignal) {
  const q: [string, string][] = [['list-type', '2'], ['prefix', prefix]];
  if (delimiter) q.push(['delimiter', delimiter]);
  const doc = new DOMParser().parseFromString((await s3('GET', bucket, q, undefined, {}, signal)).text, 'application/xml');
  const objects: S3Object[] = Array.from(doc.getElementsByTagName('Contents')).map((c) => ({
    key: xmlAll(c, 'Key')[0],
    size: Number(xmlAll(c, 'Size')[0]),
    modified: xmlAll(c, 'LastModified')[0],
  }));
  const prefixes = Array.from(doc.getElementsByTagName('CommonPrefixes')).map((p) => xmlAll(p, 'Prefix')[0]);
  return { objects, prefixes };
}

/**
 * The newest log files of the trail for this account: under `[prefix/]AWSLogs/[<organization id>/]<account>/CloudTrail/`,
 * each region's folders of today and yesterday (UTC), newest first. Reading only those folders keeps the page fast
 * on a trail with years of files.
 */
async function newestFiles(trail: Trail, signal: AbortSignal): Promise<{ base: string; files: S3Object[] }> {
  const { account } = await callerIdentity();
  let logs = `${trail.S3KeyPrefix ? trail.S3KeyPrefix + '/' : ''}AWSLogs/`;
  if (trail.IsOrganizationTrail) {
    const owners = (await listObjects(trail.S3BucketName, logs, '/', signal)).prefixes;
    logs = owners.find((p) => p.slice(logs.length).startsWith('o-')) ?? logs;
  }
  const base = `${logs}${account}/CloudTrail/`;
  const regions = (await listObjects(trail.S3BucketName, base, '/', signal)).prefixes;
  const day = (d: Date) => d.toISOString().slice(0, 10).replace(/-/g, '/');
  const days = [day(new Date()), day(new Date(Date.now() - 86_400_000))];
  const lists = await Promise.all(regions.flatMap((r) => days.map((d) => listObjects(trail.S3BucketName, `${r}${d}/`, '', signal))));
  const files = lists.flatMap((l) => l.objects).sort((x, y) => (x.modified < y.modified ? 1 : x.modified > y.modified ? -1 : 0));
  return { base, files: files.slice(0, 20) };
}

function DeliveredFiles({ trail }: { trail: Trail }) {
  const { data, error, loading, reload } = useLoad((signal) => newestFiles(trail, signal), [trail.TrailARN, trail.S3BucketName, trail.S3KeyPrefix]);
  const base = data?.base ?? '';
  return (
    <Panel
      title={t('trails.files')}
      id="delivered-files"
      actions={
        <button type="button" onClick={reload}>
          {t('common.refresh')}
        </button>
      }
    >
      {data && <p class="hint">{t('trails.filesLead', { prefix: `s3://${trail.S3BucketName}/${base}` })}</p>}
      <ErrorBox error={error} />
      {loading && !data ? (
        <Spinner />
      ) : (
        <Table
          caption={t('trails.files')}
          rows={data?.files ?? []}
          rowKey={(o) => o.key}
          empty={t('trails.noFiles')}
          columns={[
            { key: 'key', label: t('trails.key'), render: (o) => <span class="mono">{o.key.slice(base.length)}</span> },
            { key: 'size', label: t('trails.size'), render: (o) => fmtBytes(o.size), class: 'num' },
            { key: 'modified', label: t('trails.modified'), render: (o) => fmtTime(o.modified), class: 'nowrap' },
          ]}
        />
      )}
    </Panel>
  );
}

function TrailEdit({ id }: { id: string }) {
  const { data, error } = useLoad((signal) => loadDetail(id, signal), [id]);
  if (!data) return <Page title={t('trails.edit')}>{error ? <ErrorBox error={error} /> : <Spinner />}</Page>;
  return <EditForm detail={data} />;
}

function EditForm({ detail }: { detail: Detail }) {
  const tr = detail.trail;
  const [f, setF] = useState({
    bucket: tr.S3BucketName,
    prefix: tr.S3KeyPrefix ?? '',
    validation: !!tr.LogFileValidationEnabled,
    kms: tr.KmsKeyId ?? '',
    sns: tr.SnsTopicARN ?? '',
    multiRegion: tr.IsMultiRegionTrail,
    global: tr.IncludeGlobalServiceEvents !== false,
    logGroup: tr.CloudWatchLogsLogGroupArn ?? '',
    role: tr.CloudWatchLogsRoleArn ?? '',
  });
  const [events, setEvents] = useState<EventChoice>(choiceFrom(detail.selectors, detail.insights));
  // The selectors are written only when the event choice changes: the form cannot show every selector (a bucket's
  // data events, other resource types), and saving other settings must not replace them.
  const [eventsChanged, setEventsChanged] = useState(false);
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const text = (k: keyof typeof f) => (e: Event) => setF({ ...f, [k]: (e.currentTarget as HTMLInputElement).value });
  const flag = (k: keyof typeof f) => (v: boolean) => setF({ ...f, [k]: v });

  const save = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await cloudtrail('UpdateTrail', {
        Name: tr.Name,
        S3BucketName: f.bucket,
        S3KeyPrefix: f.prefix,
        EnableLogFileValidation: f.validation,
        KmsKeyId: f.kms,
        SnsTopicName: f.sns,
        IsMultiRegionTrail: f.multiRegion,
        IncludeGlobalServiceEvents: f.global,
        CloudWatchLogsLogGroupArn: f.logGroup,
        CloudWatchLogsRoleArn: f.role,
      });
      if (eventsChanged) {
        await cloudtrail('PutEventSelectors', { TrailName: tr.Name, AdvancedEventSelectors: selectorsFor(events) });
        const insights = insightSelectorsFor(events);
        if (insights.length || tr.HasInsightSelectors) await cloudtrail('PutInsightSelectors', { TrailName: tr.Name, InsightSelectors: insights });
      }
      go('trails', tr.Name);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };

  return (
    <Page title={`${t('trails.edit')}: ${tr.Name}`}>
      <form class="panel" onSubmit={save}>
        <Field label={t('trails.col.bucket')}>
          <input name="bucket" value={f.bucket} onInput={text('bucket')} required spellcheck={false} />
        </Field>
        <Field label={t('wiz.prefix')} optional>
          <input name="prefix" value={f.prefix} onInput={text('prefix')} spellcheck={false} />
        </Field>
        <Field label={t('wiz.keyId')} optional>
          <input name="kms" value={f.kms} onInput={text('kms')} spellcheck={false} />
        </Field>
        <Field label={t('trails.sns')} optional>
          <input name="sns" value={f.sns} onInput={text('sns')} spellcheck={false} />
        </Field>
        <Field label={t('trails.cwl')} optional>
          <input name="logGroupArn" value={f.logGroup} onInput={text('logGroup')} spellcheck={false} />
        </Field>
        <Field label={t('trails.cwlRole')} optional>
          <input name="roleArn" value={f.role} onInput={text('role')} spellcheck={false} />
        </Field>
        <Check label={t('wiz.validation')} checked={f.validation} onChange={flag('validation')} />
        <Check label={t('wiz.multiRegion')} checked={f.multiRegion} onChange={flag('multiRegion')} />
        <Check label={t('trails.globalEvents')} checked={f.global} onChange={flag('global')} />
        <EventsStep
          value={events}
          onChange={(c) => {
            setEvents(c);
            setEventsChanged(true);
          }}
        />
        <ErrorBox error={error} />
        <div class="actions">
          <a class="button" href={href('trails', tr.Name)}>
            {t('common.cancel')}
          </a>
          <button type="submit" class="primary" disabled={busy}>
            {t('common.save')}
          </button>
        </div>
      </form>
    </Page>
  );
}
