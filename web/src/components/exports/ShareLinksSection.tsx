import { Alert, Badge, Box, Button, Group, Paper, Skeleton, Stack, Text, ThemeIcon, Title, VisuallyHidden } from '@mantine/core';
import { IconAlertTriangle, IconLink, IconLinkOff, IconPlus, IconRefresh } from '@tabler/icons-react';
import { useEffect, useRef, useState } from 'react';
import { errorMessage } from '../../api';
import type { ExportJob } from '../../exportsApi';
import { formatDateTime, formatNumber, formatRelative, formatShortDateTime, plural } from '../../format';
import { ACCESS_LABELS, ACCESS_NOUNS, useRevokeShareLink, useShareLinks, type ShareLink, type ShareState } from '../../sharesApi';
import { ConfirmModal } from './ConfirmModal';
import { CreateShareModal } from './CreateShareModal';

const STATES: Record<ShareState, { label: string; color: string; description: string }> = {
  active: { label: 'Active', color: 'teal', description: 'Opens for whoever it is meant for' },
  expired: { label: 'Expired', color: 'gray', description: 'Its expiry date has passed' },
  revoked: { label: 'Revoked', color: 'red', description: 'Turned off; it no longer opens' },
  used_up: { label: 'Used up', color: 'orange', description: 'All the downloads it allowed were made' },
};

interface ShareLinksSectionProps {
  slug: string;
  job: ExportJob;
  /** Whether a dialog of this section is open (Escape then closes only that dialog). */
  onDialogChange: (open: boolean) => void;
}

/** A completed export's share links: list, create (the link is shown once) and revoke. */
export function ShareLinksSection({ slug, job, onDialogChange }: ShareLinksSectionProps) {
  const links = useShareLinks(slug, job.id);
  const revoke = useRevokeShareLink(slug, job.id);
  const [creating, setCreating] = useState(false);
  const [revoking, setRevoking] = useState<ShareLink | null>(null);
  const [announcement, setAnnouncement] = useState('');
  const newButton = useRef<HTMLButtonElement>(null);
  const list = useRef<HTMLDivElement>(null);
  const revokedId = useRef<string | null>(null);

  const dialogOpen = creating || revoking !== null;
  useEffect(() => {
    onDialogChange(dialogOpen);
  }, [dialogOpen, onDialogChange]);
  useEffect(() => () => onDialogChange(false), [onDialogChange]);

  const active = links.data?.filter((l) => l.state === 'active').length ?? 0;

  const confirmRevoke = () => {
    if (!revoking) return;
    const link = revoking;
    revoke.mutate(link.id, {
      onSuccess: () => {
        revokedId.current = link.id;
        setAnnouncement(`The ${ACCESS_NOUNS[link.access]} created ${formatDateTime(link.createdAt)} was revoked.`);
        setRevoking(null);
      },
    });
  };

  // After the confirmation closes, focus goes to something that still exists: the link's Revoke
  // button when it was kept, else the New link button.
  const lastAsked = useRef<string | null>(null);
  const afterRevokeDialog = () => {
    const kept = revokedId.current === null && lastAsked.current;
    revokedId.current = null;
    const button = kept ? list.current?.querySelector<HTMLButtonElement>(`[data-share-id="${CSS.escape(kept)}"] button`) : null;
    (button ?? newButton.current)?.focus();
  };

  let content;
  if (links.isPending) {
    content = (
      <Stack gap="xs" aria-busy="true" aria-label="Loading share links">
        <Skeleton height={64} radius="md" />
        <Skeleton height={64} radius="md" />
      </Stack>
    );
  } else if (links.isError && !links.data) {
    content = (
      <Alert color="red" variant="light" icon={<IconAlertTriangle size={18} />} title="Could not load the share links" role="alert" p="sm">
        <Stack gap={6} align="flex-start">
          <Text size="sm">{errorMessage(links.error)}</Text>
          <Button size="xs" variant="default" leftSection={<IconRefresh size={14} />} onClick={() => void links.refetch()} loading={links.isFetching}>
            Try again
          </Button>
        </Stack>
      </Alert>
    );
  } else if (links.data.length === 0) {
    content = (
      <Paper withBorder radius="md" p="md" style={{ borderStyle: 'dashed' }}>
        <Group gap="sm" wrap="nowrap" align="flex-start">
          <ThemeIcon variant="light" color="gray" radius="xl" size={36} aria-hidden>
            <IconLink size={18} />
          </ThemeIcon>
          <div>
            <Text size="sm" fw={600}>
              No share links yet
            </Text>
            <Text size="sm" c="dimmed">
              A link lets a colleague download this ZIP without you sending the file. You choose who can open it, for how long and how often.
            </Text>
          </div>
        </Group>
      </Paper>
    );
  } else {
    content = (
      <Stack component="ul" gap="xs" ref={list} aria-label="Share links" p={0} m={0} style={{ listStyle: 'none' }}>
        {links.data.map((link) => (
          <ShareLinkItem
            key={link.id}
            link={link}
            onRevoke={() => {
              revoke.reset();
              lastAsked.current = link.id;
              setRevoking(link);
            }}
          />
        ))}
      </Stack>
    );
  }

  return (
    <Box component="section" aria-labelledby={`shares-${job.id}`}>
      <Group justify="space-between" align="center" gap="xs" mb={4} wrap="nowrap">
        <Title order={3} fz="sm" fw={650} id={`shares-${job.id}`}>
          Share links
          {active > 0 && (
            <Text span c="dimmed" fw={500} fz="sm">
              {' '}
              · {formatNumber(active)} active
            </Text>
          )}
        </Title>
        <Button ref={newButton} size="xs" variant="light" leftSection={<IconPlus size={14} aria-hidden />} onClick={() => setCreating(true)}>
          New link
        </Button>
      </Group>
      <Text size="sm" c="dimmed" mb="sm">
        Links end when they expire, run out of downloads or are revoked
        {job.expiresAt ? `, and never outlive the export (${formatRelative(job.expiresAt)})` : ''}.
      </Text>
      {content}
      {links.isError && links.data && (
        <Text size="xs" c="red" mt={6} role="alert">
          Could not refresh the links: {errorMessage(links.error)}
        </Text>
      )}
      <VisuallyHidden role="status" aria-live="polite">
        {announcement}
      </VisuallyHidden>

      <CreateShareModal opened={creating} onClose={() => setCreating(false)} slug={slug} job={job} />
      <ConfirmModal
        opened={revoking !== null}
        title="Revoke this share link?"
        confirmLabel="Revoke link"
        onConfirm={confirmRevoke}
        onClose={() => setRevoking(null)}
        pending={revoke.isPending}
        error={revoke.error}
        returnFocus={false}
        onExitTransitionEnd={afterRevokeDialog}
      >
        {revoking && (
          <Text size="sm">
            The <b>{ACCESS_NOUNS[revoking.access]}</b> created {formatDateTime(revoking.createdAt)} stops working at once: whoever opens it is
            told it is not valid. ZIPs already downloaded with it are not affected. This cannot be undone.
          </Text>
        )}
      </ConfirmModal>
    </Box>
  );
}

function downloadsText(link: ShareLink): string {
  const used = link.maxDownloads !== null ? `${formatNumber(link.downloadCount)} of ${formatNumber(link.maxDownloads)} downloads` : `${plural(link.downloadCount, 'download')}, no limit`;
  return link.lastDownloadAt ? `${used} · last ${formatShortDateTime(link.lastDownloadAt)}` : used;
}

function ShareLinkItem({ link, onRevoke }: { link: ShareLink; onRevoke: () => void }) {
  const state = STATES[link.state] ?? { label: link.state, color: 'gray', description: '' };
  const live = link.state === 'active';
  const expiry = live
    ? `Expires ${formatShortDateTime(link.expiresAt)} (${formatRelative(link.expiresAt)})`
    : link.state === 'expired'
      ? `Expired ${formatShortDateTime(link.expiresAt)}`
      : `Would have expired ${formatShortDateTime(link.expiresAt)}`;
  return (
    <Paper component="li" withBorder radius="md" px="sm" py={10} data-share-id={link.id} data-state={link.state} style={{ opacity: live ? 1 : 0.75 }}>
      <Group justify="space-between" gap="xs" wrap="nowrap" align="flex-start">
        <Stack gap={4} miw={0}>
          <Group gap={6}>
            <Badge variant="light" color={link.access === 'link' ? 'grape' : 'indigo'} tt="none" fw={600} leftSection={<IconLink size={12} aria-hidden />}>
              {ACCESS_LABELS[link.access]}
            </Badge>
            <Badge variant="dot" color={state.color} tt="none" fw={600} title={state.description}>
              {state.label}
            </Badge>
          </Group>
          <Text size="xs" c="dimmed" className="tabular-nums">
            Created {formatShortDateTime(link.createdAt)} · <span title={formatDateTime(link.expiresAt)}>{expiry}</span>
          </Text>
          <Text size="xs" className="tabular-nums">
            {downloadsText(link)}
          </Text>
        </Stack>
        {live && (
          <Button
            size="xs"
            variant="subtle"
            color="red"
            leftSection={<IconLinkOff size={14} aria-hidden />}
            onClick={onRevoke}
            aria-label={`Revoke the ${ACCESS_NOUNS[link.access]} created ${formatDateTime(link.createdAt)}`}
            style={{ flexShrink: 0 }}
          >
            Revoke
          </Button>
        )}
      </Group>
    </Paper>
  );
}
