import { lazy, Suspense, type ReactNode } from 'react';
import type { RouteObject } from 'react-router';
import { AppLayout } from './components/AppLayout';
import { RequireAuth } from './components/RequireAuth';
import { LoginPage } from './pages/LoginPage';
import { NotFoundPage } from './pages/NotFoundPage';
import { ProjectBrowserPage } from './pages/ProjectBrowserPage';
import { ProjectLayout } from './pages/ProjectLayout';
import { ProjectsPage } from './pages/ProjectsPage';
import { PageLoader } from './components/StateViews';

// The export pages load on first visit: most sessions only browse.
const ExportsPage = lazy(() => import('./pages/ExportsPage').then((m) => ({ default: m.ExportsPage })));
const ExportNewPage = lazy(() => import('./pages/ExportNewPage').then((m) => ({ default: m.ExportNewPage })));

function Lazy({ children, label }: { children: ReactNode; label: string }) {
  return <Suspense fallback={<PageLoader label={label} />}>{children}</Suspense>;
}

/**
 * Child routes of `/p/:slug`, rendered inside {@link ProjectLayout} (which loads
 * the project and its folder tree and hands them down via `useProject()`).
 *
 * Each section has a matching entry in `projectNav` (./projectNav.ts) so it
 * shows up in the project's navigation.
 */
export const projectRoutes: RouteObject[] = [
  { index: true, element: <ProjectBrowserPage /> },
  {
    path: 'exports',
    element: (
      <Lazy label="Loading exports…">
        <ExportsPage />
      </Lazy>
    ),
  },
  {
    path: 'exports/new',
    element: (
      <Lazy label="Loading the export form…">
        <ExportNewPage />
      </Lazy>
    ),
  },
];

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
