import { MutationCache, QueryCache, QueryClient } from '@tanstack/react-query';
import { isApiError, queryKeys, setCsrfToken } from './api';

/**
 * Any 401 from the API means the session is gone: clear it, and the auth guard
 * redirects to /login (remembering the current page).
 */
function handleUnauthorized(error: unknown): void {
  if (!isApiError(error, 401)) return;
  setCsrfToken(null);
  if (queryClient.getQueryData(queryKeys.session) !== null) {
    queryClient.setQueryData(queryKeys.session, null);
  }
}

export const queryClient: QueryClient = new QueryClient({
  queryCache: new QueryCache({ onError: handleUnauthorized }),
  mutationCache: new MutationCache({ onError: handleUnauthorized }),
  defaultOptions: {
    queries: {
      staleTime: 15_000,
      // Client errors (4xx) will not go away by retrying.
      retry: (failureCount, error) => {
        if (isApiError(error) && error.status >= 400 && error.status < 500) return false;
        return failureCount < 2;
      },
      refetchOnWindowFocus: true,
    },
    mutations: { retry: false },
  },
});
