import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';
import type { Repositories } from '../adapters/db/repositories/index.js';
import type { UserRow } from '../adapters/db/schema.js';
import { AppError } from '../domain/errors.js';

export interface RequestMeta {
  ip?: string | null;
  userAgent?: string | null;
}

export interface AuthenticatedSession {
  user: UserRow;
  sessionId: string;
  csrfToken: string;
}

const API_TOKEN_PREFIX = 'coh_';
// Touching a session on every request would turn reads into writes; once a minute keeps expiry sliding.
const SESSION_TOUCH_INTERVAL_MS = 60_000;

export function sha256Hex(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

export class AuthService {
  // Verifying against a real hash when the user is unknown keeps response times alike for both cases.
  private dummyHash: Promise<string> | undefined;

  constructor(
    private readonly repos: Repositories,
    private readonly options: { sessionTtlMs: number },
  ) {}

  hashPassword(password: string): Promise<string> {
    return hash(password);
  }

  async login(username: string, password: string, meta: RequestMeta): Promise<AuthenticatedSession & { token: string }> {
    const user = await this.repos.users.findByUsername(username);
    this.dummyHash ??= hash(randomToken());
    const passwordHash = user?.password_hash ?? (await this.dummyHash);
    const ok = await verify(passwordHash, password).catch(() => false);
    if (!user || !ok || user.disabled_at || !user.password_hash) {
      await this.repos.audit.record({ action: 'auth.login_failed', userId: user?.id ?? null, ip: meta.ip, details: { username } });
      throw new AppError('unauthorized', 'invalid_credentials', 'The username or password is not correct.');
    }
    const token = randomToken();
    const now = new Date();
    const session = {
      id: randomUUID(),
      token_hash: sha256Hex(token),
      user_id: user.id,
      csrf_token: randomToken(),
      ip: meta.ip ?? null,
      user_agent: meta.userAgent?.slice(0, 500) ?? null,
      created_at: now.toISOString(),
      last_seen_at: now.toISOString(),
      expires_at: new Date(now.getTime() + this.options.sessionTtlMs).toISOString(),
    };
    await this.repos.auth.insertSession(session);
    await this.repos.audit.record({ action: 'auth.login', userId: user.id, ip: meta.ip });
    return { token, user, sessionId: session.id, csrfToken: session.csrf_token };
  }

  async authenticateSession(token: string): Promise<AuthenticatedSession | null> {
    const now = new Date();
    const found = await this.repos.auth.findSession(sha256Hex(token), now.toISOString());
    if (!found) return null;
    if (now.getTime() - Date.parse(found.session.last_seen_at) > SESSION_TOUCH_INTERVAL_MS) {
      await this.repos.auth.touchSession(found.session.id, now.toISOString(), new Date(now.getTime() + this.options.sessionTtlMs).toISOString());
    }
    return { user: found.user, sessionId: found.session.id, csrfToken: found.session.csrf_token };
  }

  async logout(session: AuthenticatedSession, meta: RequestMeta): Promise<void> {
    await this.repos.auth.deleteSession(session.sessionId);
    await this.repos.audit.record({ action: 'auth.logout', userId: session.user.id, ip: meta.ip });
  }

  async authenticateApiToken(token: string): Promise<UserRow | null> {
    if (!token.startsWith(API_TOKEN_PREFIX)) return null;
    const now = new Date().toISOString();
    const found = await this.repos.auth.findApiToken(sha256Hex(token), now);
    if (!found) return null;
    await this.repos.auth.markApiTokenUsed(found.token.id, now);
    return found.user;
  }

  async settings(userId: string): Promise<{ exportEmails: boolean }> {
    const user = await this.repos.users.findById(userId);
    return { exportEmails: user?.export_emails === 1 };
  }

  async updateSettings(userId: string, changes: { exportEmails?: boolean }, meta: RequestMeta): Promise<{ exportEmails: boolean }> {
    if (changes.exportEmails !== undefined) {
      await this.repos.users.setExportEmails(userId, changes.exportEmails);
      await this.repos.audit.record({ action: 'user.settings_changed', userId, ip: meta.ip, details: changes });
    }
    return this.settings(userId);
  }

  /** Creates an API token; the secret is returned once and only its hash is kept. */
  async createApiToken(userId: string, name: string, expiresAt: Date | null = null): Promise<{ id: string; token: string }> {
    const token = `${API_TOKEN_PREFIX}${randomToken()}`;
    const id = randomUUID();
    await this.repos.auth.insertApiToken({
      id,
      user_id: userId,
      name,
      token_hash: sha256Hex(token),
      token_prefix: token.slice(0, API_TOKEN_PREFIX.length + 6),
      created_at: new Date().toISOString(),
      last_used_at: null,
      expires_at: expiresAt?.toISOString() ?? null,
      revoked_at: null,
    });
    await this.repos.audit.record({ action: 'auth.token_created', userId, targetType: 'api_token', targetId: id, details: { name } });
    return { id, token };
  }
}
