// Form dialogs: a modal holding one form, its Cancel and submit buttons in the footer, the busy state while the form's
// API calls run, and AWS's error when one fails; and the delete confirmation built on it.
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { t } from './i18n';
import { ErrorBox, Field, Modal } from './ui';

/**
 * A dialog around a form whose footer holds the form's buttons (linked by `id`, so Enter in any field submits). While
 * `onSubmit` runs the submit button is disabled (and reads `busyLabel`, when given); a failure shows AWS's error in the
 * dialog and lets the person try again. On success `onSubmit` closes the dialog or navigates away itself.
 */
export function FormModal(props: {
  id: string;
  title: string;
  submit: string;
  busyLabel?: string;
  invalid?: boolean;
  /** The submit button destroys something. */
  danger?: boolean;
  class?: string;
  onSubmit: () => Promise<void>;
  onClose: () => void;
  children: ComponentChildren;
}) {
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const run = async (e: Event) => {
    e.preventDefault();
    if (busy || props.invalid) return;
    setBusy(true);
    setError(undefined);
    try {
      await props.onSubmit();
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  return (
    <Modal
      title={props.title}
      onClose={props.onClose}
      footer={
        <>
          <button type="button" onClick={props.onClose}>
            {t('common.cancel')}
          </button>
          <button type="submit" form={props.id} class={props.danger ? 'danger' : 'primary'} disabled={busy || props.invalid}>
            {busy && props.busyLabel ? props.busyLabel : props.submit}
          </button>
        </>
      }
    >
      <form id={props.id} class={props.class} onSubmit={run}>
        {props.children}
      </form>
      <ErrorBox error={error} />
    </Modal>
  );
}

/** Deletes after the person types the resource's name. */
export function ConfirmDelete(props: { title: string; name: string; onConfirm: () => Promise<void>; onClose: () => void; children?: ComponentChildren }) {
  const [typed, setTyped] = useState('');
  return (
    <FormModal
      id="confirm-delete"
      title={props.title}
      submit={t('common.delete')}
      danger
      invalid={typed !== props.name}
      onSubmit={async () => {
        await props.onConfirm();
        props.onClose();
      }}
      onClose={props.onClose}
    >
      {props.children}
      <Field label={t('common.confirmDelete', { name: props.name })}>
        <input value={typed} onInput={(e) => setTyped(e.currentTarget.value)} autocomplete="off" />
      </Field>
    </FormModal>
  );
}
