import '@fastify/rate-limit';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { UserRow } from '../../adapters/db/schema.js';
import type { AuthService } from '../../services/auth-service.js';
import { requireAuth, requestMeta, SESSION_COOKIE } from '../auth-context.js';
import { errorResponses, sessionSchema } from '../schemas.js';

export function userView(user: UserRow) {
  return { id: user.id, username: user.username, email: user.email, displayName: user.display_name, isSiteAdmin: user.is_site_admin === 1 };
}

export const authRoutes: FastifyPluginAsyncZod<{ auth: AuthService; sessionTtlMs: number; cookieSecure: boolean; loginRateLimitPerMinute: number }> = async (
  app,
  opts,
) => {
  app.post(
    '/api/auth/login',
    {
      schema: {
        tags: ['auth'],
        summary: 'Sign in with username and password; sets the session cookie',
        body: z.object({ username: z.string().min(1).max(64), password: z.string().min(1).max(1024) }),
        response: { 200: sessionSchema, ...errorResponses },
      },
      config: {
        rateLimit: {
          max: opts.loginRateLimitPerMinute,
          timeWindow: 60_000,
          // Counted per client address: one client cannot try many passwords, whatever the account.
          keyGenerator: (request) => request.ip,
        },
      },
    },
    async (request, reply) => {
      const result = await opts.auth.login(request.body.username, request.body.password, requestMeta(request));
      reply.setCookie(SESSION_COOKIE, result.token, {
        path: '/',
        httpOnly: true,
        sameSite: 'lax',
        secure: opts.cookieSecure,
        maxAge: Math.floor(opts.sessionTtlMs / 1000),
      });
      return { user: userView(result.user), csrfToken: result.csrfToken };
    },
  );

  app.post(
    '/api/auth/logout',
    { schema: { tags: ['auth'], summary: 'Sign out: ends the session', response: { 204: z.null(), ...errorResponses } } },
    async (request, reply) => {
      const auth = requireAuth(request);
      if (auth.session) await opts.auth.logout(auth.session, requestMeta(request));
      reply.clearCookie(SESSION_COOKIE, { path: '/' });
      return reply.status(204).send(null);
    },
  );

  const settingsSchema = z.object({ exportEmails: z.boolean().describe('email me when my exports complete or fail') });
  app.get(
    '/api/me/settings',
    { schema: { tags: ['auth'], summary: "The signed-in user's settings", response: { 200: settingsSchema, ...errorResponses } } },
    async (request) => opts.auth.settings(requireAuth(request).user.id),
  );
  app.patch(
    '/api/me/settings',
    {
      schema: {
        tags: ['auth'],
        summary: 'Change settings (e.g. turn export emails off)',
        body: settingsSchema.partial().strict(),
        response: { 200: settingsSchema, ...errorResponses },
      },
    },
    async (request) => opts.auth.updateSettings(requireAuth(request).user.id, request.body, requestMeta(request)),
  );

  app.get(
    '/api/auth/me',
    { schema: { tags: ['auth'], summary: 'The signed-in user and the CSRF token for writes', response: { 200: sessionSchema, ...errorResponses } } },
    async (request) => {
      const auth = requireAuth(request);
      return { user: userView(auth.user), csrfToken: auth.session?.csrfToken ?? '' };
    },
  );
};
