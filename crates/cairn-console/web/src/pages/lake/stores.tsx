// Event data stores: the list, the create form (retention, protection, regions, and which events the store takes),
// and a store's page with every setting, editing, ingestion start/stop, deletion and restoration.
import { useState } from 'preact/hooks';
import { cloudtrail } from '../../aws';
import { ConfirmDelete, FormModal } from '../../forms';
import { fmtTime, t, type Key } from '../../i18n';
import { href } from '../../router';
import { Check, CopyButton, ErrorBox, Field, JsonView, KeyValues, Page, Panel, Spinner, Table, useLoad, yesNo } from '../../ui';
import { StoreStatus, categories, listStores, storeId, type FieldSelector, type Selector, type Store } from './shared';

const onOff = (v?: boolean) => (v ? t('common.enabled') : t('common.disabled'));
const MAX_RETENTION: Record<string, number> = { EXTENDABLE_RETENTION_PRICING: 3653, FIXED_RETENTION_PRICING: 2557 };

export function LakeStores({ rest }: { rest: string[] }) {
  return rest[0] ? <StoreDetail which={rest[0]} /> : <StoreList />;
}

function StoreList() {
  const stores = useLoad(listStores, []);
  const [creating, setCreating] = useState(false);
  const columns = [
    { key: 'name', label: t('common.name'), render: (s: Store) => <a href={href('lake', 'stores', storeId(s.EventDataStoreArn))}>{s.Name}</a>, class: 'nowrap' },
    { key: 'status', label: t('common.status'), render: (s: Store) => <StoreStatus status={s.Status} /> },
    { key: 'events', label: t('lake.store.events'), render: (s: Store) => categories(s).map(categoryLabel).join(', ') || '—' },
    { key: 'retention', label: t('lake.store.retention'), render: (s: Store) => t('lake.store.days', { n: s.RetentionPeriod ?? '—' }), class: 'nowrap' },
    { key: 'protect', label: t('lake.store.protection'), render: (s: Store) => onOff(s.TerminationProtectionEnabled) },
    { key: 'created', label: t('lake.store.created'), render: (s: Store) => fmtTime(s.CreatedTimestamp), class: 'nowrap' },
    { key: 'arn', label: 'ARN', render: (s: Store) => <span class="mono arn">{s.EventDataStoreArn}</span> },
  ];
  return (
    <Page
      title={t('lake.stores.title')}
      lead={t('lake.stores.lead')}
      actions={
        <>
          <button type="button" onClick={stores.reload}>
            {t('common.refresh')}
          </button>
          <button type="button" class="primary" onClick={() => setCreating(true)}>
            {t('lake.stores.create')}
          </button>
        </>
      }
    >
      <ErrorBox error={stores.error} />
      {stores.loading && !stores.data ? (
        <Spinner />
      ) : (
        <Table caption={t('lake.stores.title')} columns={columns} rows={stores.data ?? []} rowKey={(s) => s.EventDataStoreArn} empty={t('lake.stores.none')} />
      )}
      {creating && <CreateStore onClose={() => setCreating(false)} onCreated={(s) => (location.hash = href('lake', 'stores', storeId(s.EventDataStoreArn)))} />}
    </Page>
  );
}

function categoryLabel(c: string): string {
  return t(`lake.category.${c}` as Key) ?? c;
}

interface Draft {
  name: string;
  retention: string;
  billing: string;
  protect: boolean;
  multiRegion: boolean;
  organization: boolean;
  ingest: boolean;
  source: 'cloudtrail' | 'activity';
  management: boolean;
  readOnly: '' | 'true' | 'false';
  s3Data: boolean;
}

/** The advanced event selectors a draft asks for. */
function selectorsOf(d: Draft): Selector[] {
  if (d.source === 'activity') return [{ Name: 'Events from integrations', FieldSelectors: [{ Field: 'eventCategory', Equals: ['ActivityAuditLog'] }] }];
  const out: Selector[] = [];
  if (d.management) {
    const fields = [{ Field: 'eventCategory', Equals: ['Management'] }];
    if (d.readOnly) fields.push({ Field: 'readOnly', Equals: [d.readOnly] });
    out.push({ Name: 'Management events', FieldSelectors: fields });
  }
  if (d.s3Data)
    out.push({
      Name: 'S3 data events',
      FieldSelectors: [
        { Field: 'eventCategory', Equals: ['Data'] },
        { Field: 'resources.type', Equals: ['AWS::S3::Object'] },
      ],
    });
  return out;
}

function CreateStore({ onClose, onCreated }: { onClose: () => void; onCreated: (s: Store) => void }) {
  const [d, setD] = useState<Draft>({
    name: '',
    retention: '366',
    billing: 'EXTENDABLE_RETENTION_PRICING',
    protect: true,
    multiRegion: true,
    organization: false,
    ingest: true,
    source: 'cloudtrail',
    management: true,
    readOnly: '',
    s3Data: false,
  });
  const set = <K extends keyof Draft>(k: K, v: Draft[K]) => setD({ ...d, [k]: v });
  const nothing = d.source === 'cloudtrail' && !d.management && !d.s3Data;
  return (
    <FormModal
      id="create-store"
      title={t('lake.stores.create')}
      submit={t('lake.stores.create')}
      busyLabel={t('lake.creating')}
      invalid={nothing}
      onClose={onClose}
      onSubmit={async () => {
        const s = await cloudtrail('CreateEventDataStore', {
          Name: d.name.trim(),
          RetentionPeriod: Number(d.retention),
          BillingMode: d.billing,
          TerminationProtectionEnabled: d.protect,
          MultiRegionEnabled: d.multiRegion,
          OrganizationEnabled: d.organization,
          StartIngestion: d.ingest,
          AdvancedEventSelectors: selectorsOf(d),
        });
        onCreated(s);
      }}
    >
      <Field label={t('common.name')} hint={t('lake.store.nameHint')}>
        <input name="name" value={d.name} onInput={(e) => set('name', e.currentTarget.value)} required minLength={3} maxLength={128} pattern="[a-zA-Z0-9._\-]+" autocomplete="off" spellcheck={false} />
      </Field>
      <fieldset>
        <legend>{t('lake.store.eventsLegend')}</legend>
        <div class="radio-cards" role="radiogroup" aria-label={t('lake.store.source')}>
          <label>
            <input type="radio" name="source" checked={d.source === 'cloudtrail'} onChange={() => set('source', 'cloudtrail')} />
            {t('lake.store.source.cloudtrail')}
          </label>
          <label>
            <input type="radio" name="source" checked={d.source === 'activity'} onChange={() => set('source', 'activity')} />
            {t('lake.store.source.activity')}
          </label>
        </div>
        {d.source === 'cloudtrail' ? (
          <>
            <Check label={t('lake.category.Management')} hint={t('lake.store.managementHint')} checked={d.management} onChange={(v) => set('management', v)} />
            {d.management && (
              <Field label={t('lake.store.readWrite')}>
                <select name="readOnly" value={d.readOnly} onChange={(e) => set('readOnly', e.currentTarget.value as Draft['readOnly'])}>
                  <option value="">{t('lake.store.readWrite.all')}</option>
                  <option value="true">{t('lake.store.readWrite.read')}</option>
                  <option value="false">{t('lake.store.readWrite.write')}</option>
                </select>
              </Field>
            )}
            <Check label={t('lake.store.s3Data')} hint={t('lake.store.s3DataHint')} checked={d.s3Data} onChange={(v) => set('s3Data', v)} />
            {nothing && <p class="hint warn-text">{t('lake.store.pickEvents')}</p>}
          </>
        ) : (
          <p class="hint">{t('lake.store.activityHint')}</p>
        )}
      </fieldset>
      <Field label={t('lake.store.billing')}>
        <select name="billing" value={d.billing} onChange={(e) => set('billing', e.currentTarget.value)}>
          <option value="EXTENDABLE_RETENTION_PRICING">{t('lake.billing.EXTENDABLE_RETENTION_PRICING')}</option>
          <option value="FIXED_RETENTION_PRICING">{t('lake.billing.FIXED_RETENTION_PRICING')}</option>
        </select>
      </Field>
      <Field label={t('lake.store.retentionDays')} hint={t('lake.store.retentionHint', { max: MAX_RETENTION[d.billing] })}>
        <input name="retention" type="number" min={7} max={MAX_RETENTION[d.billing]} value={d.retention} onInput={(e) => set('retention', e.currentTarget.value)} required />
      </Field>
      <Check label={t('lake.store.protection')} hint={t('lake.store.protectionHint')} checked={d.protect} onChange={(v) => set('protect', v)} />
      <Check label={t('lake.store.multiRegion')} hint={t('lake.store.multiRegionHint')} checked={d.multiRegion} onChange={(v) => set('multiRegion', v)} />
      <Check label={t('lake.store.organization')} hint={t('lake.store.organizationHint')} checked={d.organization} onChange={(v) => set('organization', v)} />
      <Check label={t('lake.store.ingest')} checked={d.ingest} onChange={(v) => set('ingest', v)} />
    </FormModal>
  );
}

function StoreDetail({ which }: { which: string }) {
  const loaded = useLoad(
    async (signal) => (await listStores(signal)).find((s) => [s.Name, s.EventDataStoreArn, storeId(s.EventDataStoreArn)].includes(which)) ?? null,
    [which],
  );
  const [dialog, setDialog] = useState<'edit' | 'delete' | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const s = loaded.data;
  const act = async (op: string) => {
    setBusy(true);
    setError(undefined);
    try {
      await cloudtrail(op, { EventDataStore: s!.EventDataStoreArn });
      loaded.reload();
    } catch (e) {
      setError(e);
    }
    setBusy(false);
  };
  if (loaded.error) return <Page title={which}>{<ErrorBox error={loaded.error} />}</Page>;
  if (!s)
    return (
      <Page title={which}>
        {loaded.loading ? <Spinner /> : <div class="alert error" role="alert">{t('lake.store.notFound', { name: which })}</div>}
        <a href="#/lake/stores">{t('lake.stores.back')}</a>
      </Page>
    );
  const id = storeId(s.EventDataStoreArn);
  const cats = categories(s);
  const fixedCategory = cats.some((c) => ['ActivityAuditLog', 'Insight', 'Evidence'].includes(c));
  const pending = s.Status === 'PENDING_DELETION';
  return (
    <Page
      title={s.Name}
      actions={
        <>
          <a class="button" href={`#/lake/query?store=${encodeURIComponent(id)}`}>
            {t('lake.store.query')}
          </a>
          {!pending && !fixedCategory && s.Status === 'STOPPED_INGESTION' && (
            <button type="button" disabled={busy} onClick={() => act('StartEventDataStoreIngestion')}>
              {t('lake.store.start')}
            </button>
          )}
          {!pending && !fixedCategory && s.Status === 'ENABLED' && (
            <button type="button" disabled={busy} onClick={() => act('StopEventDataStoreIngestion')}>
              {t('lake.store.stop')}
            </button>
          )}
          {pending ? (
            <button type="button" disabled={busy} onClick={() => act('RestoreEventDataStore')}>
              {t('lake.store.restore')}
            </button>
          ) : (
            <>
              <button type="button" onClick={() => setDialog('edit')}>
                {t('common.edit')}
              </button>
              <button type="button" class="danger" onClick={() => setDialog('delete')}>
                {t('common.delete')}
              </button>
            </>
          )}
        </>
      }
    >
      <p class="crumbs">
        <a href="#/lake/stores">{t('lake.stores.title')}</a> / {s.Name}
      </p>
      <ErrorBox error={error} />
      {pending && <div class="alert info">{t('lake.store.pendingDeletion')}</div>}
      <Panel title={t('common.details')}>
        <KeyValues
          items={[
            [t('common.status'), <StoreStatus status={s.Status} />],
            [t('lake.store.id'), <span class="mono">{id}</span>],
            [
              'ARN',
              <span class="copyable">
                <span class="mono">{s.EventDataStoreArn}</span> <CopyButton text={s.EventDataStoreArn} />
              </span>,
            ],
            [t('lake.store.events'), cats.map(categoryLabel).join(', ')],
            [t('lake.store.retention'), t('lake.store.days', { n: s.RetentionPeriod ?? '—' })],
            [t('lake.store.billing'), s.BillingMode ? t(`lake.billing.${s.BillingMode}` as Key) ?? s.BillingMode : '—'],
            [t('lake.store.protection'), onOff(s.TerminationProtectionEnabled)],
            [t('lake.store.multiRegion'), yesNo(s.MultiRegionEnabled)],
            [t('lake.store.organization'), yesNo(s.OrganizationEnabled)],
            [t('lake.store.kms'), s.KmsKeyId ? <span class="mono">{s.KmsKeyId}</span> : t('lake.store.kmsNone')],
            [t('lake.store.federation'), s.FederationStatus],
            [t('lake.store.created'), fmtTime(s.CreatedTimestamp)],
            [t('lake.store.updated'), fmtTime(s.UpdatedTimestamp)],
          ]}
        />
      </Panel>
      <Panel title={t('lake.store.selectors')}>
        <ul class="selectors">
          {(s.AdvancedEventSelectors ?? []).map((sel, i) => (
            <li key={i}>
              <strong>{sel.Name || t('lake.store.selectorN', { n: i + 1 })}</strong>
              <ul>
                {sel.FieldSelectors.map((f) => (
                  <li key={f.Field}>
                    <code>{f.Field}</code> {operators(f)}
                  </li>
                ))}
              </ul>
            </li>
          ))}
        </ul>
        <details>
          <summary>{t('lake.store.selectorsJson')}</summary>
          <JsonView value={s.AdvancedEventSelectors ?? []} />
        </details>
      </Panel>
      {dialog === 'edit' && <EditStore store={s} onClose={() => setDialog(null)} onSaved={loaded.reload} />}
      {dialog === 'delete' && (
        <ConfirmDelete
          title={t('lake.store.deleteTitle', { name: s.Name })}
          name={s.Name}
          onClose={() => setDialog(null)}
          onConfirm={async () => {
            await cloudtrail('DeleteEventDataStore', { EventDataStore: s.EventDataStoreArn });
            loaded.reload();
          }}
        >
          <p>{t('lake.store.deleteLead')}</p>
          {s.TerminationProtectionEnabled && <div class="alert info">{t('lake.store.deleteProtected')}</div>}
        </ConfirmDelete>
      )}
    </Page>
  );
}

/** A field selector's operators in words: `= Management`, `starts with arn:...`. */
function operators(f: FieldSelector): string {
  const words: [string, string][] = [
    ['Equals', '='],
    ['NotEquals', '≠'],
    ['StartsWith', t('lake.op.startsWith')],
    ['NotStartsWith', t('lake.op.notStartsWith')],
    ['EndsWith', t('lake.op.endsWith')],
    ['NotEndsWith', t('lake.op.notEndsWith')],
  ];
  return words
    .filter(([k]) => Array.isArray(f[k as keyof FieldSelector]))
    .map(([k, w]) => `${w} ${(f[k as keyof FieldSelector] as string[]).join(', ')}`)
    .join('; ');
}

function EditStore({ store, onClose, onSaved }: { store: Store; onClose: () => void; onSaved: () => void }) {
  const [retention, setRetention] = useState(String(store.RetentionPeriod ?? 366));
  const [protect, setProtect] = useState(!!store.TerminationProtectionEnabled);
  const [billing, setBilling] = useState(store.BillingMode ?? 'EXTENDABLE_RETENTION_PRICING');
  const changes: Record<string, unknown> = {};
  if (Number(retention) !== store.RetentionPeriod) changes.RetentionPeriod = Number(retention);
  if (protect !== !!store.TerminationProtectionEnabled) changes.TerminationProtectionEnabled = protect;
  if (billing !== store.BillingMode) changes.BillingMode = billing;
  return (
    <FormModal
      id="edit-store"
      title={t('lake.store.editTitle', { name: store.Name })}
      submit={t('common.save')}
      invalid={!Object.keys(changes).length}
      onClose={onClose}
      onSubmit={async () => {
        await cloudtrail('UpdateEventDataStore', { EventDataStore: store.EventDataStoreArn, ...changes });
        onSaved();
        onClose();
      }}
    >
      <Field label={t('lake.store.billing')} hint={t('lake.store.billingHint')}>
        <select name="billing" value={billing} onChange={(e) => setBilling(e.currentTarget.value)} disabled={store.BillingMode === 'EXTENDABLE_RETENTION_PRICING'}>
          <option value="EXTENDABLE_RETENTION_PRICING">{t('lake.billing.EXTENDABLE_RETENTION_PRICING')}</option>
          <option value="FIXED_RETENTION_PRICING">{t('lake.billing.FIXED_RETENTION_PRICING')}</option>
        </select>
      </Field>
      <Field label={t('lake.store.retentionDays')} hint={t('lake.store.retentionHint', { max: MAX_RETENTION[billing] ?? 3653 })}>
        <input name="retention" type="number" min={7} max={MAX_RETENTION[billing] ?? 3653} value={retention} onInput={(e) => setRetention(e.currentTarget.value)} required />
      </Field>
      <Check label={t('lake.store.protection')} hint={t('lake.store.protectionHint')} checked={protect} onChange={setProtect} />
    </FormModal>
  );
}
