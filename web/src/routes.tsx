import type { RouteObject } from 'react-router';
import { AppLayout } from './components/AppLayout';
import { RequireAuth } from './components/RequireAuth';
import { LoginPage } from './pages/LoginPage';
import { NotFoundPage } from './pages/NotFoundPage';
import { ProjectBrowserPage } from './pages/ProjectBrowserPage';
import { ProjectLayout } from './pages/ProjectLayout';
import { ProjectsPage } from './pages/ProjectsPage';

/**
 * Child routes of `/p/:slug`, rendered inside {@link ProjectLayout} (which loads
 * the project and its folder tree and hands them down via `useProject()`).
 *
 * Export pages go here: `{ path: 'exports', element: ... }` and
 * `{ path: 'exports/new', element: ... }`, plus a matching entry in
 * `projectNav` (./projectNav.ts) so they show up in the project's navigation.
 */
export const projectRoutes: RouteObject[] = [{ index: true, element: <ProjectBrowserPage /> }];

export const routes: RouteObject[] = [
  { path: '/login', element: <LoginPage /> },
  {
    // Everything else needs a session; unauthenticated visitors go to /login.
    element: <RequireAuth />,
    children: [
      {
        element: <AppLayout />,
        children: [
          { index: true, element: <ProjectsPage /> },
          { path: 'p/:slug', element: <ProjectLayout />, children: projectRoutes },
          { path: '*', element: <NotFoundPage /> },
        ],
      },
    ],
  },
];
