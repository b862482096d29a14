import { Center } from '@mantine/core';
import { Navigate, Outlet, useLocation } from 'react-router';
import { useSession } from '../api';
import { ErrorState, PageLoader } from './StateViews';

export interface LoginLocationState {
  from?: { pathname: string; search?: string; hash?: string };
}

/** Renders child routes for signed-in users; sends everyone else to /login. */
export function RequireAuth() {
  const session = useSession();
  const location = useLocation();

  if (session.data) return <Outlet />;
  if (session.isPending) return <PageLoader label="Loading Cohort…" minHeight="100dvh" />;
  if (session.isError) {
    return (
      <Center mih="100dvh">
        <ErrorState
          order={2}
          title="Cohort is not reachable"
          error={session.error}
          onRetry={() => void session.refetch()}
          retrying={session.isFetching}
        />
      </Center>
    );
  }
  const state: LoginLocationState = { from: location };
  return <Navigate to="/login" replace state={state} />;
}
