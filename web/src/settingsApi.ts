/** The signed-in user's settings (`GET/PATCH /api/me/settings`, src/http/routes/auth-routes.ts). */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { apiFetch } from './api';

export interface UserSettings {
  /** Email me when my exports complete or fail. */
  exportEmails: boolean;
}

// Dropped with the rest of the user's data at sign-in and sign-out (see api.ts).
export const settingsKey = ['me', 'settings'] as const;
const updateKey = ['me', 'settings', 'update'] as const;

export function fetchSettings(signal?: AbortSignal): Promise<UserSettings> {
  return apiFetch<UserSettings>('/api/me/settings', { signal });
}

export function useSettings(enabled = true) {
  return useQuery({ queryKey: settingsKey, queryFn: ({ signal }) => fetchSettings(signal), enabled, staleTime: 5 * 60_000 });
}

/** Changes settings optimistically: the new value shows at once and is put back if saving fails. */
export function useUpdateSettings() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationKey: updateKey,
    mutationFn: (changes: Partial<UserSettings>) => apiFetch<UserSettings>('/api/me/settings', { method: 'PATCH', body: changes }),
    onMutate: async (changes) => {
      await queryClient.cancelQueries({ queryKey: settingsKey });
      const previous = queryClient.getQueryData<UserSettings>(settingsKey);
      if (previous) queryClient.setQueryData<UserSettings>(settingsKey, { ...previous, ...changes });
      return { previous };
    },
    onError: (_error, _changes, context) => {
      if (context?.previous) queryClient.setQueryData(settingsKey, context.previous);
    },
    onSuccess: (settings) => {
      // A later change still on its way wins over this answer.
      if (queryClient.isMutating({ mutationKey: updateKey }) <= 1) queryClient.setQueryData(settingsKey, settings);
    },
    onSettled: () => {
      if (queryClient.isMutating({ mutationKey: updateKey }) <= 1) void queryClient.invalidateQueries({ queryKey: settingsKey });
    },
  });
}
