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
// Share links are opened by people who may never use the rest of the app.
const SharePage = lazy(() => import('./pages/SharePage').then((m) => ({ default: m.SharePage })));

function Lazy({ children, label, minHeight }: { children: ReactNode; label: string; minHeight?: string }) {
  return <Suspense fallback={<PageLoader label={label} minHeight={minHeight} />}>{children}</Suspense>;
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
    // Public: a `link` share opens for anyone, signed in or not; the page itself asks for a
    // sign-in when a `members` share needs one.
    path: '/share/:token',
    element: (
      <Lazy label="Opening the shared export…" minHeight="100dvh">
        <SharePage />
      </Lazy>
    ),
  },
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
