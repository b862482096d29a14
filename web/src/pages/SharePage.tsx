import { Alert, Button, Group, Paper, SimpleGrid, Skeleton, Stack, Text, ThemeIcon, Title } from '@mantine/core';
import { useDocumentTitle } from '@mantine/hooks';
import {
  IconArrowLeft,
  IconCircleCheck,
  IconDownload,
  IconFileZip,
  IconInfoCircle,
  IconLinkOff,
  IconLock,
  IconLogin,
  IconShieldLock,
  IconUsers,
  IconWorld,
} from '@tabler/icons-react';
import { useState, type ReactNode } from 'react';
import { Link, useLocation, useNavigate, useParams } from 'react-router';
import { isApiError, useLogout, useSession } from '../api';
import { BrandLink, BrandMark } from '../components/BrandLink';
import type { LoginLocationState } from '../components/RequireAuth';
import { EmptyState, ErrorState } from '../components/StateViews';
import { UserMenu } from '../components/UserMenu';
import { formatBytes, formatDate, formatDateTime, formatNumber, formatRelative } from '../format';
import { shareDownloadUrl, useSharedExport, type SharedExportInfo } from '../sharesApi';
import classes from './SharePage.module.css';

/**
 * `/share/:token`: what a share link holds and a download button. Public (outside the signed-in
 * layout): `link` shares open for anyone, `members` shares ask visitors to sign in and come back.
 */
export function SharePage() {
  const { token = '' } = useParams();
  const session = useSession();
  const info = useSharedExport(token);
  const [downloadStarted, setDownloadStarted] = useState(false);
  useDocumentTitle(info.data ? `${info.data.name} · Shared export · Cohort` : 'Shared export · Cohort');

  const signedIn = Boolean(session.data);
  const notValid = isApiError(info.error, 404);

  let content: ReactNode;
  if (info.data && !(notValid && !downloadStarted)) {
    content = (
      <SharedExport
        token={token}
        info={info.data}
        signedInAs={session.data ? session.data.user.displayName || session.data.user.username : null}
        // After a download, the link may have run out: the details stay, the button goes.
        usedUp={notValid && downloadStarted}
        onDownload={() => {
          setDownloadStarted(true);
          // The count of downloads left changes once the server has started sending.
          window.setTimeout(() => void info.refetch(), 1500);
        }}
        downloadStarted={downloadStarted}
      />
    );
  } else if (info.isPending) {
    content = <LoadingCard />;
  } else if (notValid) {
    content = (
      <Problem icon={<IconLinkOff size={28} stroke={1.6} />} title="This link is not valid">
        It may have expired or been revoked, or it was copied incompletely. Ask the person who shared it for a new link.
      </Problem>
    );
  } else if (isApiError(info.error, 401)) {
    content = <SignInPrompt />;
  } else if (isApiError(info.error, 403)) {
    content = <NoAccess name={session.data ? session.data.user.displayName || session.data.user.username : null} />;
  } else {
    content = (
      <Paper withBorder shadow="sm" radius="lg" p="lg">
        <ErrorState order={1} title="Could not open this link" error={info.error} onRetry={() => void info.refetch()} retrying={info.isFetching} />
      </Paper>
    );
  }

  return (
    <div className={classes.page}>
      <header className={classes.header}>
        {signedIn ? (
          <BrandLink />
        ) : (
          <Group gap={8} wrap="nowrap">
            <BrandMark />
            <Text span fw={700} fz="lg" style={{ letterSpacing: '-0.01em' }}>
              Cohort
            </Text>
          </Group>
        )}
        {signedIn && <UserMenu />}
      </header>
      <main className={classes.main} id="main">
        <div className={classes.card}>{content}</div>
      </main>
    </div>
  );
}

function SharedExport({
  token,
  info,
  signedInAs,
  usedUp,
  downloadStarted,
  onDownload,
}: {
  token: string;
  info: SharedExportInfo;
  signedInAs: string | null;
  usedUp: boolean;
  downloadStarted: boolean;
  onDownload: () => void;
}) {
  const facts: Array<[string, ReactNode]> = [
    ['ZIP size', formatBytes(info.zipSize)],
    ['Patients', formatNumber(info.patientCount)],
    ['Files', formatNumber(info.fileCount)],
    [
      'Link expires',
      <span key="exp" title={formatDateTime(info.expiresAt)}>
        {formatDate(info.expiresAt)}{' '}
        <Text span size="xs" c="dimmed">
          ({formatRelative(info.expiresAt)})
        </Text>
      </span>,
    ],
    ['Downloads left', info.downloadsLeft === null ? 'No limit' : formatNumber(info.downloadsLeft)],
  ];

  return (
    <Paper withBorder shadow="sm" radius="lg" p={{ base: 'lg', xs: 'xl' }} component="article" aria-labelledby="shared-export-name">
      <Group gap="md" wrap="nowrap" align="flex-start">
        <ThemeIcon size={52} radius="md" variant="light" aria-hidden style={{ flexShrink: 0 }}>
          <IconFileZip size={30} stroke={1.5} />
        </ThemeIcon>
        <div style={{ minWidth: 0 }}>
          <Text size="xs" c="dimmed" fw={600} tt="uppercase" style={{ letterSpacing: '0.04em' }}>
            Shared export
          </Text>
          <Title order={1} fz="h2" id="shared-export-name" style={{ overflowWrap: 'anywhere' }}>
            {info.name}
          </Title>
          <Text size="sm" c="dimmed" mt={2}>
            Shared by {info.createdBy || 'a Cohort user'}
            {info.completedAt ? ` · built ${formatDate(info.completedAt)}` : ''}
          </Text>
        </div>
      </Group>

      <SimpleGrid component="dl" cols={{ base: 2, xs: 3 }} spacing="md" verticalSpacing="sm" mt="lg" className={classes.facts} aria-label="About this export">
        {facts.map(([label, value]) => (
          <div key={label}>
            <Text component="dt" size="xs" c="dimmed">
              {label}
            </Text>
            <Text component="dd" size="sm" fw={600} className="tabular-nums">
              {value}
            </Text>
          </div>
        ))}
      </SimpleGrid>

      {usedUp ? (
        <Alert mt="lg" color="gray" variant="light" icon={<IconInfoCircle size={18} />} title="This link cannot be used again" role="status">
          It has no downloads left, or it expired or was revoked meanwhile. The download you started is not affected.
        </Alert>
      ) : (
        <Button
          component="a"
          href={shareDownloadUrl(token)}
          download
          mt="lg"
          size="lg"
          fullWidth
          className={classes.download}
          leftSection={<IconDownload size={20} aria-hidden />}
          onClick={onDownload}
        >
          Download ZIP ({formatBytes(info.zipSize)})
        </Button>
      )}
      {downloadStarted && !usedUp && (
        <Group gap={6} mt="xs" justify="center" role="status" wrap="nowrap">
          <IconCircleCheck size={16} color="var(--mantine-color-teal-7)" aria-hidden />
          <Text size="sm" c="dimmed">
            Your download has started: see your browser’s downloads.
          </Text>
        </Group>
      )}

      <Stack gap={6} mt="lg">
        <Group gap={8} wrap="nowrap" align="flex-start">
          <Text span c="dimmed" lh={1} mt={2} aria-hidden>
            {info.access === 'link' ? <IconWorld size={16} /> : <IconUsers size={16} />}
          </Text>
          <Text size="sm" c="dimmed">
            {info.access === 'link'
              ? 'Anyone with this link can download the ZIP. It holds patient data: do not pass the link on.'
              : `Shared with project members${signedInAs ? `; you are signed in as ${signedInAs}` : ''}.`}
          </Text>
        </Group>
        <Group gap={8} wrap="nowrap" align="flex-start">
          <Text span c="dimmed" lh={1} mt={2} aria-hidden>
            <IconShieldLock size={16} />
          </Text>
          <Text size="sm" c="dimmed">
            Inside the ZIP, SHA256SUMS lists a checksum for every file so you can check the copy.
          </Text>
        </Group>
      </Stack>
    </Paper>
  );
}

function LoadingCard() {
  return (
    <Paper withBorder shadow="sm" radius="lg" p="xl" aria-busy="true" aria-label="Loading the shared export">
      <Group gap="md" wrap="nowrap">
        <Skeleton height={52} width={52} radius="md" />
        <Stack gap={8} style={{ flex: 1 }}>
          <Skeleton height={10} width="30%" />
          <Skeleton height={22} width="70%" />
          <Skeleton height={10} width="45%" />
        </Stack>
      </Group>
      <SimpleGrid cols={3} mt="lg" spacing="md">
        {[0, 1, 2, 3, 4].map((i) => (
          <Stack key={i} gap={6}>
            <Skeleton height={8} width="50%" />
            <Skeleton height={12} width="70%" />
          </Stack>
        ))}
      </SimpleGrid>
      <Skeleton height={52} mt="lg" radius="md" />
    </Paper>
  );
}

function Problem({ icon, title, children, action }: { icon: ReactNode; title: string; children: ReactNode; action?: ReactNode }) {
  return (
    <Paper withBorder shadow="sm" radius="lg" p="lg">
      <EmptyState order={1} icon={icon} title={title} action={action}>
        {children}
      </EmptyState>
    </Paper>
  );
}

/** A `members` link opened without a session: sign in, then come straight back here. */
function SignInPrompt() {
  const location = useLocation();
  const state: LoginLocationState = { from: { pathname: location.pathname, search: location.search, hash: location.hash } };
  return (
    <Problem
      icon={<IconLock size={28} stroke={1.6} />}
      title="Sign in to open this link"
      action={
        <Button component={Link} to="/login" state={state} leftSection={<IconLogin size={16} aria-hidden />}>
          Sign in
        </Button>
      }
    >
      This export is shared with members of its project. Sign in with your Cohort account and you come straight back here.
    </Problem>
  );
}

function NoAccess({ name }: { name: string | null }) {
  const logout = useLogout();
  const navigate = useNavigate();
  const location = useLocation();
  const state: LoginLocationState = { from: { pathname: location.pathname, search: location.search, hash: location.hash } };
  return (
    <Problem
      icon={<IconShieldLock size={28} stroke={1.6} />}
      title="You cannot open this export"
      action={
        <Group justify="center" gap="sm">
          <Button component={Link} to="/" variant="default" leftSection={<IconArrowLeft size={16} aria-hidden />}>
            Your projects
          </Button>
          <Button
            variant="light"
            loading={logout.isPending}
            onClick={() => logout.mutate(undefined, { onSettled: () => navigate('/login', { replace: true, state }) })}
          >
            Use another account
          </Button>
        </Group>
      }
    >
      This export holds patients you do not have access to.
      {name ? ` You are signed in as ${name}; ask the person who shared it, or a project admin, about your access.` : ''}
    </Problem>
  );
}
