import { Alert, Button, Group, Paper, PasswordInput, Stack, Text, TextInput, Title } from '@mantine/core';
import { useDocumentTitle } from '@mantine/hooks';
import { IconAlertCircle } from '@tabler/icons-react';
import { useState, type FormEvent } from 'react';
import { Navigate, useLocation, useNavigate } from 'react-router';
import { errorMessage, isApiError, useLogin, useSession } from '../api';
import { BrandMark } from '../components/BrandLink';
import type { LoginLocationState } from '../components/RequireAuth';
import { PageLoader } from '../components/StateViews';
import classes from './LoginPage.module.css';

/** Where to go after signing in: the page the user came from, or the project picker. */
function returnPath(state: unknown): string {
  const from = (state as LoginLocationState | null)?.from;
  if (!from || typeof from.pathname !== 'string' || !from.pathname.startsWith('/')) return '/';
  if (from.pathname.startsWith('//') || from.pathname === '/login') return '/';
  return `${from.pathname}${from.search ?? ''}${from.hash ?? ''}`;
}

function loginErrorText(error: unknown): string {
  if (isApiError(error) && error.code === 'rate_limited') {
    return 'Too many sign-in attempts. Please try again in a minute.';
  }
  return errorMessage(error);
}

export function LoginPage() {
  useDocumentTitle('Sign in · Cohort');
  const session = useSession();
  const login = useLogin();
  const navigate = useNavigate();
  const location = useLocation();
  const target = returnPath(location.state);

  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [fieldErrors, setFieldErrors] = useState<{ username?: string; password?: string }>({});

  if (session.data) return <Navigate to={target} replace />;
  if (session.isPending) return <PageLoader label="Loading Cohort…" minHeight="100dvh" />;

  const onSubmit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    if (login.isPending) return;
    const errors: typeof fieldErrors = {};
    if (!username.trim()) errors.username = 'Enter your username';
    if (!password) errors.password = 'Enter your password';
    setFieldErrors(errors);
    if (errors.username || errors.password) return;
    login.mutate(
      { username: username.trim(), password },
      { onSuccess: () => navigate(target, { replace: true }) },
    );
  };

  const serverField = isApiError(login.error) ? login.error.field : undefined;
  const serverError = login.error ? loginErrorText(login.error) : null;
  const usernameError = fieldErrors.username ?? (serverField === 'username' ? serverError : undefined);
  const passwordError = fieldErrors.password ?? (serverField === 'password' ? serverError : undefined);
  const formError = serverError && serverField !== 'username' && serverField !== 'password' ? serverError : null;

  return (
    <main className={classes.page}>
      <div className={classes.card}>
        <Group gap="sm" justify="center" mb="lg">
          <BrandMark size={40} />
          <Text fw={700} fz={28} style={{ letterSpacing: '-0.02em' }}>
            Cohort
          </Text>
        </Group>
        <Paper withBorder shadow="sm" p="xl" radius="lg">
          <Title order={1} fz="h2">
            Sign in
          </Title>
          <Text c="dimmed" size="sm" mt={4} mb="lg">
            Imaging research data for your lab.
          </Text>
          <form onSubmit={onSubmit} noValidate aria-label="Sign in">
            <Stack gap="md">
              <TextInput
                label="Username"
                name="username"
                autoComplete="username"
                autoCapitalize="none"
                autoCorrect="off"
                spellCheck={false}
                autoFocus
                required
                value={username}
                onChange={(e) => {
                  setUsername(e.currentTarget.value);
                  if (fieldErrors.username) setFieldErrors((f) => ({ ...f, username: undefined }));
                }}
                error={usernameError}
                disabled={login.isPending}
              />
              <PasswordInput
                label="Password"
                name="password"
                autoComplete="current-password"
                required
                value={password}
                onChange={(e) => {
                  setPassword(e.currentTarget.value);
                  if (fieldErrors.password) setFieldErrors((f) => ({ ...f, password: undefined }));
                }}
                error={passwordError}
                disabled={login.isPending}
              />
              {formError && (
                <Alert
                  color="red"
                  variant="light"
                  icon={<IconAlertCircle size={18} />}
                  role="alert"
                  py="xs"
                >
                  {formError}
                </Alert>
              )}
              <Button type="submit" fullWidth size="md" loading={login.isPending} mt="xs">
                Sign in
              </Button>
            </Stack>
          </form>
        </Paper>
        <Text c="dimmed" size="xs" ta="center" mt="lg">
          No account? Ask your lab’s Cohort administrator.
        </Text>
      </div>
    </main>
  );
}
