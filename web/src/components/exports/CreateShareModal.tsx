import {
  ActionIcon,
  Alert,
  Button,
  CopyButton,
  Group,
  Modal,
  NumberInput,
  Radio,
  SimpleGrid,
  Stack,
  Text,
  Textarea,
  TextInput,
  Tooltip,
} from '@mantine/core';
import { IconAlertCircle, IconAlertTriangle, IconCheck, IconCopy, IconUsers, IconWorld } from '@tabler/icons-react';
import { useEffect, useRef, useState, type FormEvent, type ReactNode } from 'react';
import { errorMessage, isApiError } from '../../api';
import type { ExportJob } from '../../exportsApi';
import { formatDateTime, formatNumber, formatRelative } from '../../format';
import {
  ACCESS_DESCRIPTIONS,
  ACCESS_LABELS,
  SHARE_DEFAULT_DAYS,
  SHARE_MAX_DAYS,
  SHARE_MAX_DOWNLOADS,
  useCreateShareLink,
  type CreatedShareLink,
  type ShareAccess,
} from '../../sharesApi';
import { OVER_DRAWER_Z_INDEX } from './ConfirmModal';
import classes from './CreateShareModal.module.css';

interface CreateShareModalProps {
  opened: boolean;
  onClose: () => void;
  slug: string;
  job: ExportJob;
}

const ACCESS_ICONS: Record<ShareAccess, ReactNode> = {
  members: <IconUsers size={18} aria-hidden />,
  link: <IconWorld size={18} aria-hidden />,
};

function wholeNumber(value: string | number): number | null {
  if (value === '' || value === null) return null;
  const n = typeof value === 'number' ? value : Number(value);
  return Number.isInteger(n) ? n : Number.NaN;
}

/**
 * New share link: who may open it, for how long, how often. Once created, its URL and token
 * are shown this one time only (the server keeps a hash).
 */
export function CreateShareModal({ opened, onClose, slug, job }: CreateShareModalProps) {
  const create = useCreateShareLink(slug, job.id);
  const [created, setCreated] = useState<CreatedShareLink | null>(null);

  // A fresh form, and no token kept in memory, once the dialog has closed.
  const [formKey, setFormKey] = useState(0);
  const clear = () => {
    setCreated(null);
    create.reset();
    setFormKey((k) => k + 1);
  };

  return (
    <Modal
      opened={opened}
      onClose={onClose}
      title={created ? 'Share link created' : 'New share link'}
      centered
      radius="md"
      size="lg"
      // The link is shown once: a stray click outside must not throw it away.
      closeOnClickOutside={!created}
      zIndex={OVER_DRAWER_Z_INDEX}
      closeButtonProps={{ 'aria-label': 'Close' }}
      onExitTransitionEnd={clear}
    >
      {created ? (
        <CreatedLink link={created} onDone={onClose} />
      ) : (
        <ShareForm key={formKey} job={job} create={create} onCreated={setCreated} onCancel={onClose} />
      )}
    </Modal>
  );
}

function ShareForm({
  job,
  create,
  onCreated,
  onCancel,
}: {
  job: ExportJob;
  create: ReturnType<typeof useCreateShareLink>;
  onCreated: (link: CreatedShareLink) => void;
  onCancel: () => void;
}) {
  const [access, setAccess] = useState<ShareAccess>('members');
  const [days, setDays] = useState<string | number>(SHARE_DEFAULT_DAYS);
  const [limit, setLimit] = useState<string | number>('');
  const [errors, setErrors] = useState<{ days?: string; limit?: string }>({});
  // Remembered so the explanation stays next to the choice until another one is made.
  const [refusal, setRefusal] = useState<{ access: ShareAccess; message: string } | null>(null);

  const dayCount = wholeNumber(days);
  const validDays = dayCount !== null && dayCount >= 1 && dayCount <= SHARE_MAX_DAYS ? dayCount : null;
  // The server caps the link's expiry at the export's own.
  const wanted = Date.now() + (validDays ?? SHARE_DEFAULT_DAYS) * 86_400_000;
  const exportEnd = job.expiresAt ? Date.parse(job.expiresAt) : Number.POSITIVE_INFINITY;
  const capped = exportEnd < wanted;
  const effectiveEnd = capped ? exportEnd : wanted;

  const serverError = create.error;
  const serverField = isApiError(serverError) ? serverError.field : undefined;
  const accessError = refusal && refusal.access === access ? refusal.message : serverField === 'access' ? errorMessage(serverError) : undefined;
  const daysError = errors.days ?? (serverField === 'expiresInDays' ? errorMessage(serverError) : undefined);
  const limitError = errors.limit ?? (serverField === 'maxDownloads' ? errorMessage(serverError) : undefined);
  const formError = serverError && !['access', 'expiresInDays', 'maxDownloads'].includes(serverField ?? '') ? errorMessage(serverError) : null;

  const onSubmit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    if (create.isPending) return;
    const next: typeof errors = {};
    if (validDays === null) next.days = `Enter a whole number of days from 1 to ${SHARE_MAX_DAYS}`;
    const maxDownloads = wholeNumber(limit);
    if (maxDownloads !== null && !(maxDownloads >= 1 && maxDownloads <= SHARE_MAX_DOWNLOADS)) {
      next.limit = `Enter a whole number from 1 to ${formatNumber(SHARE_MAX_DOWNLOADS)}, or leave it empty`;
    }
    setErrors(next);
    if (next.days || next.limit) return;
    create.mutate(
      { access, expiresInDays: validDays ?? SHARE_DEFAULT_DAYS, ...(maxDownloads !== null ? { maxDownloads } : {}) },
      {
        onSuccess: onCreated,
        onError: (error) => {
          if (isApiError(error) && error.code === 'public_links_disabled') setRefusal({ access, message: error.message });
        },
      },
    );
  };

  return (
    <form onSubmit={onSubmit} noValidate aria-label="New share link">
      <Stack gap="md">
        <Text size="sm" c="dimmed">
          Anyone who opens the link sees the export’s name, size and counts, and can download <b>{job.name}.zip</b>.
        </Text>
        <Radio.Group
          label="Who can open it"
          value={access}
          onChange={(value) => {
            setAccess(value as ShareAccess);
            if (serverField === 'access') create.reset();
          }}
          error={accessError}
          errorProps={{ role: 'alert' }}
        >
          <SimpleGrid cols={{ base: 1, xs: 2 }} spacing="sm" mt={6}>
            {(['members', 'link'] as const).map((value) => (
              <Radio.Card key={value} value={value} radius="md" p="sm" className={classes.card} data-invalid={(accessError && access === value) || undefined}>
                <Group wrap="nowrap" align="flex-start" gap="sm">
                  <Radio.Indicator mt={2} />
                  <div>
                    <Group gap={6} wrap="nowrap">
                      {ACCESS_ICONS[value]}
                      <Text size="sm" fw={600}>
                        {ACCESS_LABELS[value]}
                      </Text>
                    </Group>
                    <Text size="xs" c="dimmed" mt={4}>
                      {ACCESS_DESCRIPTIONS[value]}
                    </Text>
                  </div>
                </Group>
              </Radio.Card>
            ))}
          </SimpleGrid>
        </Radio.Group>
        {access === 'link' && !accessError && (
          <Alert color="yellow" variant="light" icon={<IconAlertTriangle size={18} />} p="sm">
            <Text size="sm">The ZIP holds patient data: send a link that opens without signing in only to people allowed to have it.</Text>
          </Alert>
        )}

        <SimpleGrid cols={{ base: 1, xs: 2 }} spacing="sm">
          <NumberInput
            label="Expires after (days)"
            description={`1 to ${SHARE_MAX_DAYS}`}
            value={days}
            onChange={(value) => {
              setDays(value);
              if (errors.days) setErrors((e) => ({ ...e, days: undefined }));
            }}
            min={1}
            max={SHARE_MAX_DAYS}
            allowDecimal={false}
            allowNegative={false}
            error={daysError}
            required
          />
          <NumberInput
            label="Download limit"
            description="Empty: no limit"
            placeholder="No limit"
            value={limit}
            onChange={(value) => {
              setLimit(value);
              if (errors.limit) setErrors((e) => ({ ...e, limit: undefined }));
            }}
            min={1}
            max={SHARE_MAX_DOWNLOADS}
            allowDecimal={false}
            allowNegative={false}
            thousandSeparator=","
            error={limitError}
          />
        </SimpleGrid>
        <Text size="sm" data-testid="share-expiry-preview" aria-live="polite">
          {validDays === null ? (
            <Text span c="dimmed" size="sm">
              Choose how many days the link lasts.
            </Text>
          ) : (
            <>
              The link works until <b>{formatDateTime(effectiveEnd)}</b> ({formatRelative(effectiveEnd)})
              {capped ? <Text span c="dimmed" size="sm">, when the export itself expires: links never outlive it.</Text> : '.'}
            </>
          )}
        </Text>

        {formError && (
          <Alert color="red" variant="light" icon={<IconAlertCircle size={18} />} role="alert" p="sm">
            <Text size="sm">{formError}</Text>
          </Alert>
        )}
        <Group justify="flex-end" gap="sm">
          <Button variant="default" onClick={onCancel}>
            Cancel
          </Button>
          <Button type="submit" loading={create.isPending}>
            Create link
          </Button>
        </Group>
      </Stack>
    </form>
  );
}

function CopyField({
  label,
  description,
  value,
  testId,
  autoFocus,
  multiline,
}: {
  label: string;
  description?: string;
  value: string;
  testId: string;
  autoFocus?: boolean;
  /** Wraps, so that a long link is seen whole. */
  multiline?: boolean;
}) {
  const input = useRef<HTMLInputElement & HTMLTextAreaElement>(null);
  useEffect(() => {
    if (!autoFocus) return;
    // After the form is replaced: focus the link, selected, ready to copy with Ctrl+C.
    const timer = setTimeout(() => {
      input.current?.focus();
      input.current?.select();
    }, 50);
    return () => clearTimeout(timer);
  }, [autoFocus]);
  const copyButton = (
    <CopyButton value={value} timeout={2500}>
      {({ copied, copy }) => (
        <Tooltip label={copied ? 'Copied' : `Copy ${label.toLowerCase()}`} withinPortal zIndex={OVER_DRAWER_Z_INDEX + 100}>
          <ActionIcon
            variant={copied ? 'light' : 'subtle'}
            color={copied ? 'teal' : 'gray'}
            onClick={copy}
            aria-label={copied ? `${label} copied` : `Copy ${label.toLowerCase()}`}
          >
            {copied ? <IconCheck size={16} /> : <IconCopy size={16} />}
          </ActionIcon>
        </Tooltip>
      )}
    </CopyButton>
  );
  const shared = {
    ref: input,
    label,
    description,
    value,
    readOnly: true,
    onFocus: (event: { currentTarget: { select: () => void } }) => event.currentTarget.select(),
    classNames: { input: classes.mono },
    'data-testid': testId,
    rightSectionWidth: 42,
    rightSection: copyButton,
  };
  return multiline ? <Textarea {...shared} autosize minRows={1} maxRows={4} styles={{ section: { alignItems: 'flex-start', paddingTop: 4 } }} /> : <TextInput {...shared} />;
}

function CreatedLink({ link, onDone }: { link: CreatedShareLink; onDone: () => void }) {
  const limit = link.maxDownloads === null ? 'no download limit' : `at most ${formatNumber(link.maxDownloads)} download${link.maxDownloads === 1 ? '' : 's'}`;
  return (
    <Stack gap="md">
      <Alert color="orange" variant="light" icon={<IconAlertTriangle size={18} />} title="Copy it now: it is not shown again" role="status">
        <Text size="sm">Cohort keeps only a fingerprint of the link. If it gets lost, revoke it and create a new one.</Text>
      </Alert>
      <CopyField label="Link" value={link.url} testId="share-url" autoFocus multiline />
      <CopyField label="Token" description="The last part of the link, for scripts: GET /api/share/<token>/download" value={link.token} testId="share-token" />
      <Text size="sm" c="dimmed">
        {ACCESS_LABELS[link.access]} · works until {formatDateTime(link.expiresAt)} · {limit}
      </Text>
      <Group justify="flex-end">
        <Button onClick={onDone}>Done</Button>
      </Group>
    </Stack>
  );
}
