import '@fastify/cookie';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { UserRow } from '../adapters/db/schema.js';
import { AppError, unauthorized } from '../domain/errors.js';
import type { Actor } from '../domain/policy.js';
import { actorOf } from '../services/browse-service.js';
import type { AuthenticatedSession, AuthService } from '../services/auth-service.js';

export const SESSION_COOKIE = 'cohort_session';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export interface RequestAuth {
  user: UserRow;
  actor: Actor;
  /** Present when the caller came with the session cookie (not an API token). */
  session?: AuthenticatedSession;
}

declare module 'fastify' {
  interface FastifyRequest {
    auth: RequestAuth | null;
  }
}

/** Resolves who is calling (session cookie or Bearer token) and enforces CSRF on cookie writes. */
export const authContext = fp(async (app: FastifyInstance, opts: { auth: AuthService }) => {
  app.decorateRequest('auth', null);
  app.addHook('onRequest', async (request) => {
    if (!request.url.startsWith('/api/')) return;
    const header = request.headers.authorization;
    if (header) {
      const match = /^Bearer\s+(\S+)$/i.exec(header);
      const user = match ? await opts.auth.authenticateApiToken(match[1]!) : null;
      if (!user) throw new AppError('unauthorized', 'invalid_token', 'The API token is not valid, revoked or expired.');
      request.auth = { user, actor: actorOf(user) };
      return;
    }
    const cookie = request.cookies[SESSION_COOKIE];
    if (!cookie) return;
    const session = await opts.auth.authenticateSession(cookie);
    if (!session) return;
    request.auth = { user: session.user, actor: actorOf(session.user), session };
    if (!SAFE_METHODS.has(request.method) && request.headers['x-csrf-token'] !== session.csrfToken) {
      throw new AppError('forbidden', 'csrf_failed', 'The request is missing its security token (X-CSRF-Token). Reload the page and try again.');
    }
  });
});

export function requireAuth(request: FastifyRequest): RequestAuth {
  if (!request.auth) throw unauthorized();
  return request.auth;
}

export function requestMeta(request: FastifyRequest) {
  return { ip: request.ip, userAgent: request.headers['user-agent'] ?? null };
}
