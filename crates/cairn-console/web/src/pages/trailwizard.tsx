// The create-trail wizard, in the steps of AWS's console: trail attributes (with a new bucket carrying CloudTrail's
// policy, a new KMS key with an alias, an SNS topic and a log group made in the same flow), log events, review; and
// the event selection both the wizard and the edit page use.
import { useEffect, useRef, useState } from 'preact/hooks';
import { callerIdentity, cloudtrail, kms, logs, s3, sns, xmlAll } from '../aws';
import { t, type Key } from '../i18n';
import { href } from '../router';
import { session } from '../session';
import { Check, ErrorBox, Field, KeyValues, Page, Panel, Options } from '../ui';

/** Which events a trail selects, as the console's event step shows them. */
export interface EventChoice {
  management: boolean;
  read: boolean;
  write: boolean;
  excludeKms: boolean;
  excludeRds: boolean;
  /** Data events of one resource type, all, read-only or write-only, optionally under one ARN prefix. */
  data: boolean;
  dataType: string;
  dataScope: 'all' | 'read' | 'write';
  dataPrefix: string;
  insights: boolean;
  callRate: boolean;
  errorRate: boolean;
}

const DEFAULT_EVENTS: EventChoice = {
  management: true, read: true, write: true, excludeKms: false, excludeRds: false,
  data: false, dataType: 'AWS::S3::Object', dataScope: 'all', dataPrefix: '', insights: false, callRate: true, errorRate: false,
};

/** The data event resource types the wizard offers, with their labels. */
const DATA_TYPES: [string, Key][] = [
  ['AWS::S3::Object', 'wiz.dataType.s3'],
  ['AWS::Lambda::Function', 'wiz.dataType.lambda'],
  ['AWS::DynamoDB::Table', 'wiz.dataType.dynamodb'],
];

/** The advanced event selectors of a choice, named and shaped as AWS's console writes them. */
export function selectorsFor(c: EventChoice): object[] {
  const out: object[] = [];
  if (c.management) {
    const fields: object[] = [{ Field: 'eventCategory', Equals: ['Management'] }];
    if (c.read !== c.write) fields.push({ Field: 'readOnly', Equals: [String(c.read)] });
    const excluded = [c.excludeKms && 'kms.amazonaws.com', c.excludeRds && 'rdsdata.amazonaws.com'].filter(Boolean);
    if (excluded.length) fields.push({ Field: 'eventSource', NotEquals: excluded });
    out.push({ Name: 'Management events selector', FieldSelectors: fields });
  }
  if (c.data) {
    const fields: object[] = [
      { Field: 'eventCategory', Equals: ['Data'] },
      { Field: 'resources.type', Equals: [c.dataType] },
    ];
    if (c.dataScope !== 'all') fields.push({ Field: 'readOnly', Equals: [String(c.dataScope === 'read')] });
    if (c.dataPrefix.trim()) fields.push({ Field: 'resources.ARN', StartsWith: [c.dataPrefix.trim()] });
    out.push({ Name: 'Data events selector', FieldSelectors: fields });
  }
  return out;
}

export function insightSelectorsFor(c: EventChoice): object[] {
  if (!c.insights) return [];
  return [c.callRate && { InsightType: 'ApiCallRateInsight' }, c.errorRate && { InsightType: 'ApiErrorRateInsight' }].filter(Boolean) as object[];
}

/** The choice a trail's current selectors amount to (basic or advanced), for the edit page. */
export function choiceFrom(selectors: any, insights: any): EventChoice {
  const c: EventChoice = { ...DEFAULT_EVENTS, management: false, read: false, write: false };
  for (const s of selectors?.AdvancedEventSelectors ?? []) {
    const f = (name: string) => (s.FieldSelectors ?? []).find((x: any) => x.Field === name);
    const category = f('eventCategory')?.Equals?.[0];
    if (category === 'Management') {
      const ro = f('readOnly')?.Equals?.[0];
      c.management = true;
      c.read = c.read || ro !== 'false';
      c.write = c.write || ro !== 'true';
      const not: string[] = f('eventSource')?.NotEquals ?? [];
      c.excludeKms = not.includes('kms.amazonaws.com');
      c.excludeRds = not.includes('rdsdata.amazonaws.com');
    } else if (category === 'Data') {
      const type = f('resources.type')?.Equals?.[0];
      if (DATA_TYPES.some(([d]) => d === type)) {
        const ro = f('readOnly')?.Equals?.[0];
        Object.assign(c, { data: true, dataType: type, dataScope: ro === 'true' ? 'read' : ro === 'false' ? 'write' : 'all', dataPrefix: f('resources.ARN')?.StartsWith?.[0] ?? '' });
      }
    }
  }
  for (const s of selectors?.EventSelectors ?? []) {
    if (s.IncludeManagementEvents !== false) {
      c.management = true;
      c.read = c.read || s.ReadWriteType !== 'WriteOnly';
      c.write = c.write || s.ReadWriteType !== 'ReadOnly';
      const ex: string[] = s.ExcludeManagementEventSources ?? [];
      c.excludeKms = ex.includes('kms.amazonaws.com');
      c.excludeRds = ex.includes('rdsdata.amazonaws.com');
    }
    const resource = (s.DataResources ?? []).find((d: any) => DATA_TYPES.some(([type]) => type === d.Type));
    if (resource) {
      const scope = s.ReadWriteType === 'ReadOnly' ? 'read' : s.ReadWriteType === 'WriteOnly' ? 'write' : 'all';
      const prefix = (resource.Values ?? [])[0] ?? '';
      Object.assign(c, { data: true, dataType: resource.Type, dataScope: scope, dataPrefix: /^arn:aws:[a-z0-9]+:::?$/.test(prefix) ? '' : prefix });
    }
  }
  const types = (insights?.InsightSelectors ?? []).map((i: any) => i.InsightType);
  c.insights = types.length > 0;
  c.callRate = types.includes('ApiCallRateInsight');
  c.errorRate = types.includes('ApiErrorRateInsight');
  return c;
}

/** The event step: management (read/write, KMS and RDS Data API exclusions), S3 data events, Insights. */
export function EventsStep({ value, onChange }: { value: EventChoice; onChange: (c: EventChoice) => void }) {
  const set = (k: keyof EventChoice) => (v: boolean) => onChange({ ...value, [k]: v });
  const text = (k: keyof EventChoice) => (e: Event) => onChange({ ...value, [k]: (e.currentTarget as HTMLInputElement).value });
  return (
    <>
      <fieldset>
        <legend>{t('wiz.eventTypes')}</legend>
        <Check label={t('wiz.management')} hint={t('wiz.managementHint')} checked={value.management} onChange={set('management')} />
        <Check label={t('wiz.data')} hint={t('wiz.dataHint')} checked={value.data} onChange={set('data')} />
        <Check label={t('wiz.insights')} hint={t('wiz.insightsHint')} checked={value.insights} onChange={set('insights')} />
      </fieldset>
      {value.management && (
        <fieldset>
          <legend>{t('wiz.management')}</legend>
          <Check label={t('wiz.read')} checked={value.read} onChange={set('read')} />
          <Check label={t('wiz.write')} checked={value.write} onChange={set('write')} />
          <Check label={t('wiz.excludeKms')} checked={value.excludeKms} onChange={set('excludeKms')} />
          <Check label={t('wiz.excludeRds')} checked={value.excludeRds} onChange={set('excludeRds')} />
        </fieldset>
      )}
      {value.data && (
        <fieldset>
          <legend>{t('wiz.data')}</legend>
          <Field label={t('wiz.dataType')}>
            <select name="dataType" value={value.dataType} onChange={text('dataType')}>
              <Options items={DATA_TYPES} />
            </select>
          </Field>
          <Field label={t('wiz.template')}>
            <select name="dataScope" value={value.dataScope} onChange={text('dataScope')}>
              <option value="all">{t('wiz.template.all')}</option>
              <option value="read">{t('wiz.template.read')}</option>
              <option value="write">{t('wiz.template.write')}</option>
            </select>
          </Field>
          <Field label={t('wiz.dataPrefix')} optional hint={t('wiz.dataPrefixHint')}>
            <input name="dataPrefix" value={value.dataPrefix} onInput={text('dataPrefix')} spellcheck={false} />
          </Field>
        </fieldset>
      )}
      {value.insights && (
        <fieldset>
          <legend>{t('wiz.insights')}</legend>
          <Check label={t('wiz.callRate')} checked={value.callRate} onChange={set('callRate')} />
          <Check label={t('wiz.errorRate')} checked={value.errorRate} onChange={set('errorRate')} />
        </fieldset>
      )}
    </>
  );
}

/**
 * The bucket policy AWS's console writes for a new trail bucket: this trail only, under its prefix. An organization
 * trail also writes under `AWSLogs/<organization id>/`; the console cannot read the organization's id (cairn serves
 * no Organizations API), so that statement covers `AWSLogs/*`, still for this trail only.
 */
function bucketPolicy(bucket: string, prefix: string, account: string, trailArn: string, organization: boolean): string {
  const folder = (owner: string) => `arn:aws:s3:::${bucket}/${prefix ? prefix + '/' : ''}AWSLogs/${owner}`;
  const write = (sid: string, resource: string) => ({
    Sid: sid,
    Effect: 'Allow',
    Principal: { Service: 'cloudtrail.amazonaws.com' },
    Action: 's3:PutObject',
    Resource: resource,
    Condition: { StringEquals: { 's3:x-amz-acl': 'bucket-owner-full-control', 'aws:SourceArn': trailArn } },
  });
  return JSON.stringify(
    {
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'AWSCloudTrailAclCheck20150319',
          Effect: 'Allow',
          Principal: { Service: 'cloudtrail.amazonaws.com' },
          Action: 's3:GetBucketAcl',
          Resource: `arn:aws:s3:::${bucket}`,
          Condition: { StringEquals: { 'aws:SourceArn': trailArn } },
        },
        write('AWSCloudTrailWrite20150319', folder(account) + '/*'),
        ...(organization ? [write('AWSCloudTrailOrganizationWrite20150319', folder('*'))] : []),
      ],
    },
    null,
    2,
  );
}

/** The key policy AWS's console gives a KMS key it creates for a trail. */
function keyPolicy(account: string, trailArn: string): string {
  const context = { 'kms:EncryptionContext:aws:cloudtrail:arn': `arn:aws:cloudtrail:*:${account}:trail/*` };
  return JSON.stringify({
    Version: '2012-10-17',
    Id: 'Key policy created by CloudTrail',
    Statement: [
      { Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${account}:root` }, Action: 'kms:*', Resource: '*' },
      {
        Sid: 'Allow CloudTrail to encrypt logs',
        Effect: 'Allow',
        Principal: { Service: 'cloudtrail.amazonaws.com' },
        Action: 'kms:GenerateDataKey*',
        Resource: '*',
        Condition: { StringEquals: { 'aws:SourceArn': trailArn }, StringLike: context },
      },
      { Sid: 'Allow CloudTrail to describe key', Effect: 'Allow', Principal: { Service: 'cloudtrail.amazonaws.com' }, Action: 'kms:DescribeKey', Resource: '*' },
      {
        Sid: 'Allow principals in the account to decrypt log files',
        Effect: 'Allow',
        Principal: { AWS: '*' },
        Action: ['kms:Decrypt', 'kms:ReEncryptFrom'],
        Resource: '*',
        Condition: { StringEquals: { 'kms:CallerAccount': account }, StringLike: context },
      },
    ],
  });
}

/** The topic policy that lets this trail publish to the topic. */
function topicPolicy(topicArn: string, account: string, trailArn: string): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'AWSCloudTrailSNSPolicy20131101',
        Effect: 'Allow',
        Principal: { Service: 'cloudtrail.amazonaws.com' },
        Action: 'SNS:Publish',
        Resource: topicArn,
        Condition: { StringEquals: { 'AWS:SourceArn': trailArn } },
      },
      { Sid: 'owner', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${account}:root` }, Action: 'SNS:*', Resource: topicArn },
    ],
  });
}

interface Attributes {
  name: string;
  org: boolean;
  multiRegion: boolean;
  newBucket: boolean;
  bucket: string;
  prefix: string;
  sse: boolean;
  newKey: boolean;
  alias: string;
  keyId: string;
  validation: boolean;
  snsOn: boolean;
  newTopic: boolean;
  topic: string;
  cwlOn: boolean;
  newLogGroup: boolean;
  logGroup: string;
  role: string;
  tags: [string, string][];
}

function randomSuffix(): string {
  return Math.random().toString(36).slice(2, 10);
}

function defaults(account: string): Attributes {
  const suffix = randomSuffix();
  return {
    name: 'management-events', org: false, multiRegion: true, newBucket: true,
    bucket: `aws-cloudtrail-logs-${account || 'account'}-${suffix}`, prefix: '', sse: true, newKey: true,
    alias: `cloudtrail-key-${suffix}`, keyId: '', validation: true, snsOn: false, newTopic: true,
    topic: `aws-cloudtrail-logs-${suffix}`, cwlOn: false, newLogGroup: true,
    logGroup: `aws-cloudtrail-logs-${account || 'account'}-${suffix}`, role: 'CloudTrailRoleForCloudWatchLogs', tags: [],
  };
}

function Choice(props: { name: string; label: string; value: boolean; onChange: (v: boolean) => void; yes: Key; no: Key }) {
  return (
    <div class="radio-cards" role="radiogroup" aria-label={props.label}>
      <label>
        <input type="radio" name={props.name} checked={props.value} onChange={() => props.onChange(true)} /> {t(props.yes)}
      </label>
      <label>
        <input type="radio" name={props.name} checked={!props.value} onChange={() => props.onChange(false)} /> {t(props.no)}
      </label>
    </div>
  );
}

interface Done {
  text: string;
  ok: boolean;
}

export function TrailWizard() {
  const [step, setStep] = useState(1);
  const [account, setAccount] = useState('');
  const [a, setA] = useState<Attributes>(defaults(''));
  const [events, setEvents] = useState<EventChoice>(DEFAULT_EVENTS);
  const [error, setError] = useState<unknown>();
  const [log, setLog] = useState<Done[]>([]);
  const [state, setState] = useState<'editing' | 'creating' | 'created'>('editing');
  // What earlier attempts made, so that trying again after an error goes on from there instead of failing on it.
  const made = useRef<{ keyArn?: string; bucket?: string; topic?: string; logGroup?: string; trail?: string; done: Done[] }>({ done: [] });

  useEffect(() => {
    callerIdentity().then(
      (id) => {
        setAccount(id.account);
        // Names made before the account was known say "account"; fields the person has changed stay.
        const named = defaults(id.account);
        setA((cur) => ({
          ...cur,
          bucket: cur.bucket.startsWith('aws-cloudtrail-logs-account-') ? named.bucket : cur.bucket,
          logGroup: cur.logGroup.startsWith('aws-cloudtrail-logs-account-') ? named.logGroup : cur.logGroup,
        }));
      },
      setError,
    );
  }, []);

  const set = <K extends keyof Attributes>(k: K) => (v: Attributes[K]) => setA({ ...a, [k]: v });
  const input = (k: keyof Attributes) => (e: Event) => set(k)((e.currentTarget as HTMLInputElement).value as never);
  const region = session.region();
  const trailArn = `arn:aws:cloudtrail:${region}:${account}:trail/${a.name}`;
  const logPath = `${a.bucket}/${a.prefix ? a.prefix + '/' : ''}AWSLogs/${account}/`;

  const create = async () => {
    setState('creating');
    setError(undefined);
    const m = made.current;
    const note = (text: string) => {
      m.done.push({ text, ok: true });
      setLog([...m.done]);
    };
    try {
      let keyId = a.sse ? a.keyId : '';
      if (a.sse && a.newKey && m.keyArn) keyId = m.keyArn;
      else if (a.sse && a.newKey) {
        const k = await kms('CreateKey', { Description: `The key for CloudTrail trail ${a.name}`, Policy: keyPolicy(account, trailArn) });
        m.keyArn = keyId = k.KeyMetadata.Arn;
        await kms('CreateAlias', { AliasName: `alias/${a.alias}`, TargetKeyId: k.KeyMetadata.KeyId });
        note(t('wiz.step.key', { id: k.KeyMetadata.KeyId, alias: `alias/${a.alias}` }));
      }
      if (a.newBucket && m.bucket !== a.bucket) {
        const config =
          region === 'us-east-1'
            ? undefined
            : `<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><LocationConstraint>${region}</LocationConstraint></CreateBucketConfiguration>`;
        await s3('PUT', a.bucket, [], config);
        await s3('PUT', a.bucket, [['policy', '']], bucketPolicy(a.bucket, a.prefix, account, trailArn, a.org), { 'content-type': 'application/json' });
        m.bucket = a.bucket;
        note(t('wiz.step.bucket', { bucket: a.bucket }));
      }
      let topic = '';
      if (a.snsOn) {
        if (a.newTopic && m.topic) topic = m.topic;
        else if (a.newTopic) {
          const doc = await sns('CreateTopic', { Name: a.topic });
          m.topic = topic = xmlAll(doc, 'TopicArn')[0];
          await sns('SetTopicAttributes', { TopicArn: topic, AttributeName: 'Policy', AttributeValue: topicPolicy(topic, account, trailArn) });
          note(t('wiz.step.topic', { topic: a.topic }));
        } else topic = a.topic;
      }
      let logGroupArn = '';
      if (a.cwlOn) {
        if (a.newLogGroup && m.logGroup !== a.logGroup) {
          await logs('CreateLogGroup', { logGroupName: a.logGroup });
          m.logGroup = a.logGroup;
          note(t('wiz.step.logGroup', { group: a.logGroup }));
        }
        logGroupArn = `arn:aws:logs:${region}:${account}:log-group:${a.logGroup}:*`;
      }
      const trail = {
        Name: a.name,
        S3BucketName: a.bucket,
        S3KeyPrefix: a.prefix || undefined,
        SnsTopicName: topic || undefined,
        IncludeGlobalServiceEvents: true,
        IsMultiRegionTrail: a.multiRegion,
        EnableLogFileValidation: a.validation,
        KmsKeyId: keyId || undefined,
        IsOrganizationTrail: a.org || undefined,
        CloudWatchLogsLogGroupArn: logGroupArn || undefined,
        CloudWatchLogsRoleArn: logGroupArn ? `arn:aws:iam::${account}:role/${a.role}` : undefined,
        TagsList: a.tags.filter(([k]) => k.trim()).map(([Key, Value]) => ({ Key: Key.trim(), Value })),
      };
      if (m.trail === a.name) await cloudtrail('UpdateTrail', { ...trail, TagsList: undefined, IsOrganizationTrail: a.org });
      else {
        await cloudtrail('CreateTrail', trail);
        m.trail = a.name;
        note(t('wiz.step.trail', { name: a.name }));
      }
      await cloudtrail('PutEventSelectors', { TrailName: a.name, AdvancedEventSelectors: selectorsFor(events) });
      note(t('wiz.step.selectors'));
      const insights = insightSelectorsFor(events);
      if (insights.length) {
        await cloudtrail('PutInsightSelectors', { TrailName: a.name, InsightSelectors: insights });
        note(t('wiz.step.insights'));
      }
      await cloudtrail('StartLogging', { Name: a.name });
      note(t('wiz.step.logging'));
      setState('created');
    } catch (e) {
      setError(e);
      setState('editing');
    }
  };

  const steps: Key[] = ['wiz.step1', 'wiz.step2', 'wiz.step3'];
  const noEvents = !events.management && !events.data && !events.insights;
  return (
    <Page title={t('wiz.title')}>
      <ol class="steps">
        {steps.map((s, i) => (
          <li key={s} class={i + 1 === step ? 'current' : i + 1 < step ? 'done' : ''} aria-current={i + 1 === step ? 'step' : undefined}>
            {i + 1}. {t(s)}
          </li>
        ))}
      </ol>
      {step === 1 && (
        <form
          class="panel"
          onSubmit={(e) => {
            e.preventDefault();
            setStep(2);
          }}
        >
          <Field label={t('wiz.name')} hint={t('wiz.nameHint')}>
            <input name="trailName" value={a.name} onInput={input('name')} required pattern="[A-Za-z0-9][A-Za-z0-9._\-]{2,127}" />
          </Field>
          <Check label={t('wiz.multiRegion')} hint={t('wiz.multiRegionHint')} checked={a.multiRegion} onChange={set('multiRegion')} />
          <Check label={t('wiz.org')} checked={a.org} onChange={set('org')} />
          <fieldset>
            <legend>{t('wiz.storage')}</legend>
            <Choice name="bucketChoice" label={t('wiz.storage')} value={a.newBucket} onChange={set('newBucket')} yes="wiz.newBucket" no="wiz.existingBucket" />
            <Field label={t('wiz.bucket')} hint={a.newBucket ? t('wiz.bucketHint') : undefined}>
              <input name="bucket" value={a.bucket} onInput={input('bucket')} required spellcheck={false} />
            </Field>
            <Field label={t('wiz.prefix')} optional hint={t('wiz.prefixHint', { path: logPath })}>
              <input name="prefix" value={a.prefix} onInput={input('prefix')} spellcheck={false} />
            </Field>
          </fieldset>
          <fieldset>
            <legend>{t('wiz.sse')}</legend>
            <Check label={t('common.enabled')} checked={a.sse} onChange={set('sse')} />
            {a.sse && (
              <>
                <Choice name="keyChoice" label={t('wiz.sse')} value={a.newKey} onChange={set('newKey')} yes="wiz.newKey" no="wiz.existingKey" />
                {a.newKey ? (
                  <Field label={t('wiz.alias')} hint={t('wiz.aliasHint')}>
                    <input name="alias" value={a.alias} onInput={input('alias')} required spellcheck={false} />
                  </Field>
                ) : (
                  <Field label={t('wiz.keyId')}>
                    <input name="keyId" value={a.keyId} onInput={input('keyId')} required spellcheck={false} />
                  </Field>
                )}
              </>
            )}
          </fieldset>
          <Check label={t('wiz.validation')} hint={t('wiz.validationHint')} checked={a.validation} onChange={set('validation')} />
          <fieldset>
            <legend>{t('wiz.sns')}</legend>
            <Check label={t('common.enabled')} checked={a.snsOn} onChange={set('snsOn')} />
            {a.snsOn && (
              <>
                <Choice name="topicChoice" label={t('wiz.sns')} value={a.newTopic} onChange={set('newTopic')} yes="wiz.newTopic" no="wiz.existingTopic" />
                <Field label={t('wiz.topic')}>
                  <input name="topic" value={a.topic} onInput={input('topic')} required spellcheck={false} />
                </Field>
              </>
            )}
          </fieldset>
          <fieldset>
            <legend>{t('wiz.cwl')}</legend>
            <p class="hint">{t('wiz.cwlHint')}</p>
            <Check label={t('common.enabled')} checked={a.cwlOn} onChange={set('cwlOn')} />
            {a.cwlOn && (
              <>
                <Choice name="logGroupChoice" label={t('wiz.cwl')} value={a.newLogGroup} onChange={set('newLogGroup')} yes="wiz.newLogGroup" no="wiz.existingLogGroup" />
                <Field label={t('wiz.logGroup')}>
                  <input name="logGroup" value={a.logGroup} onInput={input('logGroup')} required spellcheck={false} />
                </Field>
                <Field label={t('wiz.role')}>
                  <input name="role" value={a.role} onInput={input('role')} required spellcheck={false} />
                </Field>
              </>
            )}
          </fieldset>
          <TagsEditor tags={a.tags} onChange={set('tags')} />
          <ErrorBox error={error} />
          <div class="actions">
            <a href={href('trails')}>{t('common.cancel')}</a>
            <button type="submit" class="primary">
              {t('common.next')}
            </button>
          </div>
        </form>
      )}
      {step === 2 && (
        <form
          class="panel"
          onSubmit={(e) => {
            e.preventDefault();
            if (!noEvents) setStep(3);
          }}
        >
          <EventsStep value={events} onChange={setEvents} />
          {noEvents && <p class="alert error">{t('wiz.needEvents')}</p>}
          <div class="actions">
            <button type="button" onClick={() => setStep(1)}>
              {t('common.previous')}
            </button>
            <button type="submit" class="primary" disabled={noEvents}>
              {t('common.next')}
            </button>
          </div>
        </form>
      )}
      {step === 3 && (
        <>
          <Panel title={t('wiz.step1')}>
            <KeyValues
              items={[
                [t('wiz.name'), a.name],
                [t('trails.arn'), trailArn],
                [t('wiz.multiRegion'), a.multiRegion ? t('common.yes') : t('common.no')],
                [t('wiz.org'), a.org ? t('common.yes') : t('common.no')],
                [t('wiz.bucket'), `${a.bucket}${a.newBucket ? ` (${t('wiz.newBucket')})` : ''}`],
                [t('wiz.prefix'), a.prefix],
                [t('wiz.sse'), a.sse ? (a.newKey ? `alias/${a.alias} (${t('wiz.newKey')})` : a.keyId) : t('common.disabled')],
                [t('wiz.validation'), a.validation ? t('common.enabled') : t('common.disabled')],
                [t('wiz.sns'), a.snsOn ? a.topic : t('common.disabled')],
                [t('wiz.cwl'), a.cwlOn ? a.logGroup : t('common.disabled')],
                [t('wiz.tags'), a.tags.filter(([k]) => k.trim()).map(([k, v]) => `${k}=${v}`).join(', ')],
              ]}
            />
          </Panel>
          <Panel title={t('wiz.step2')}>
            <pre class="mono">{JSON.stringify(selectorsFor(events), null, 2)}</pre>
            {insightSelectorsFor(events).length > 0 && <pre class="mono">{JSON.stringify(insightSelectorsFor(events))}</pre>}
          </Panel>
          {log.length > 0 && (
            <Panel title={t('wiz.createdLog')}>
              <ul class="log" aria-live="polite">
                {log.map((d) => (
                  <li key={d.text}>{d.text}</li>
                ))}
              </ul>
            </Panel>
          )}
          <ErrorBox error={error} />
          {state === 'created' ? (
            <div class="alert ok" role="status">
              {t('wiz.done', { name: a.name })} <a href={href('trails', a.name)}>{t('wiz.open')}</a>
            </div>
          ) : (
            <div class="actions">
              <button type="button" onClick={() => setStep(2)} disabled={state !== 'editing'}>
                {t('common.previous')}
              </button>
              <button type="button" class="primary" onClick={create} disabled={state !== 'editing' || !account}>
                {state === 'creating' ? t('wiz.creating') : t('trails.create')}
              </button>
            </div>
          )}
        </>
      )}
    </Page>
  );
}

/** Tag rows (key, value), up to 50 as CloudTrail allows. */
function TagsEditor({ tags, onChange }: { tags: [string, string][]; onChange: (tags: [string, string][]) => void }) {
  const edit = (i: number, j: 0 | 1) => (e: Event) =>
    onChange(tags.map((tag, n) => (n === i ? ((j === 0 ? [(e.currentTarget as HTMLInputElement).value, tag[1]] : [tag[0], (e.currentTarget as HTMLInputElement).value]) as [string, string]) : tag)));
  return (
    <fieldset>
      <legend>{t('wiz.tags')}</legend>
      {tags.map(([k, v], i) => (
        <div class="toolbar" key={i}>
          <Field label={t('wiz.tagKey')}>
            <input name={`tagKey${i}`} value={k} onInput={edit(i, 0)} maxLength={128} spellcheck={false} />
          </Field>
          <Field label={t('wiz.tagValue')}>
            <input name={`tagValue${i}`} value={v} onInput={edit(i, 1)} maxLength={256} spellcheck={false} />
          </Field>
          <button type="button" onClick={() => onChange(tags.filter((_, n) => n !== i))}>
            {t('wiz.removeTag')}
          </button>
        </div>
      ))}
      <button type="button" onClick={() => onChange([...tags, ['', '']])} disabled={tags.length >= 50}>
        {t('wiz.addTag')}
      </button>
    </fieldset>
  );
}
