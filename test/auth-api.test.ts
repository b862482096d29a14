import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { openTestApp, openTestContext, login, type TestContext } from './helpers/context.js';
import { testDatabases } from './helpers/databases.js';
import { PASSWORD, seedWorld } from './helpers/world.js';

describe.each(testDatabases())('auth on $name', (database) => {
  let ctx: TestContext;
  let app: FastifyInstance;

  beforeEach(async () => {
    ctx = await openTestContext(database);
    await seedWorld(ctx.services);
    app = await openTestApp(ctx, { loginRateLimitPerMinute: 5 });
  });
  afterEach(async () => {
    await app?.close();
    await ctx?.close();
  });

  it('signs in with a session cookie that is HttpOnly and SameSite, and /me returns the user', async () => {
    const res = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: 'alice', password: PASSWORD } });
    expect(res.statusCode).toBe(200);
    const cookie = res.cookies.find((c) => c.name === 'cohort_session')!;
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/' });
    expect(res.json()).toMatchObject({ user: { username: 'alice', displayName: 'ALICE', isSiteAdmin: false }, csrfToken: expect.any(String) });
    const me = await app.inject({ method: 'GET', url: '/api/auth/me', headers: { cookie: `cohort_session=${cookie.value}` } });
    expect(me.statusCode).toBe(200);
    expect(me.json().user.username).toBe('alice');
    expect(me.json().csrfToken).toBe(res.json().csrfToken);
    const audit = await ctx.services.repos.audit.recent({ action: 'auth.login' });
    expect(audit[0]).toMatchObject({ action: 'auth.login', ip: '127.0.0.1' });
  });

  it('stores only a hash of the session token', async () => {
    const { cookie } = await login(app, 'alice', PASSWORD);
    const token = cookie.split('=')[1]!;
    const rows = await ctx.database.db.selectFrom('sessions').select('token_hash').execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]!.token_hash).not.toContain(token);
    expect(rows[0]!.token_hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('refuses a wrong password, an unknown user and a disabled user alike', async () => {
    await ctx.database.db.updateTable('users').set({ disabled_at: new Date().toISOString() }).where('username', '=', 'carol').execute();
    const bodies = [];
    for (const payload of [
      { username: 'alice', password: 'wrong password' },
      { username: 'nobody', password: PASSWORD },
      { username: 'carol', password: PASSWORD },
    ]) {
      const res = await app.inject({ method: 'POST', url: '/api/auth/login', payload });
      expect(res.statusCode).toBe(401);
      expect(res.cookies).toEqual([]);
      bodies.push(res.json());
    }
    expect(bodies[0]).toEqual({ error: { code: 'invalid_credentials', message: 'The username or password is not correct.' } });
    expect(bodies[1]).toEqual(bodies[0]);
    expect(bodies[2]).toEqual(bodies[0]);
    expect((await ctx.services.repos.audit.recent({ action: 'auth.login_failed' })).length).toBe(3);
  });

  it('logs out: the session stops working and the cookie is cleared', async () => {
    const { cookie, csrf } = await login(app, 'alice', PASSWORD);
    const out = await app.inject({ method: 'POST', url: '/api/auth/logout', headers: { cookie, 'x-csrf-token': csrf } });
    expect(out.statusCode).toBe(204);
    expect(out.cookies.find((c) => c.name === 'cohort_session')?.value).toBe('');
    const me = await app.inject({ method: 'GET', url: '/api/auth/me', headers: { cookie } });
    expect(me.statusCode).toBe(401);
  });

  it('requires the CSRF token on cookie-authenticated writes', async () => {
    const { cookie, csrf } = await login(app, 'alice', PASSWORD);
    const missing = await app.inject({ method: 'POST', url: '/api/auth/logout', headers: { cookie } });
    expect(missing.statusCode).toBe(403);
    expect(missing.json().error.code).toBe('csrf_failed');
    const wrong = await app.inject({ method: 'POST', url: '/api/auth/logout', headers: { cookie, 'x-csrf-token': `${csrf}x` } });
    expect(wrong.statusCode).toBe(403);
    // The session survived both refused attempts.
    expect((await app.inject({ method: 'GET', url: '/api/auth/me', headers: { cookie } })).statusCode).toBe(200);
  });

  it('accepts API tokens as Bearer without CSRF, and rejects unknown or revoked ones', async () => {
    const { id, token } = await ctx.services.admin.createToken({ username: 'bob', name: 'script' });
    expect(token).toMatch(/^coh_[A-Za-z0-9_-]{40,}$/);
    const stored = await ctx.database.db.selectFrom('api_tokens').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    expect(stored.token_hash).not.toBe(token);
    expect(stored.token_prefix).toBe(token.slice(0, 10));

    const ok = await app.inject({ method: 'GET', url: '/api/projects', headers: { authorization: `Bearer ${token}` } });
    expect(ok.statusCode).toBe(200);
    expect(ok.json().projects.map((p: { slug: string }) => p.slug)).toEqual(['alpha']);
    const me = await app.inject({ method: 'GET', url: '/api/auth/me', headers: { authorization: `Bearer ${token}` } });
    expect(me.json().user.username).toBe('bob');

    for (const bad of [`${token}x`, 'coh_nope', 'not-a-token']) {
      const res = await app.inject({ method: 'GET', url: '/api/projects', headers: { authorization: `Bearer ${bad}` } });
      expect(res.statusCode).toBe(401);
      expect(res.json().error.code).toBe('invalid_token');
    }
    const malformed = await app.inject({ method: 'GET', url: '/api/projects', headers: { authorization: 'Basic abc' } });
    expect(malformed.statusCode).toBe(401);

    expect(await ctx.services.repos.auth.revokeApiToken(id, (await ctx.services.repos.users.findByUsername('bob'))!.id, new Date().toISOString())).toBe(true);
    const revoked = await app.inject({ method: 'GET', url: '/api/projects', headers: { authorization: `Bearer ${token}` } });
    expect(revoked.statusCode).toBe(401);
  });

  it('rate limits login attempts per client', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) {
      const res = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: 'alice', password: `wrong ${i}` } });
      statuses.push(res.statusCode);
    }
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(statuses.slice(5)).toEqual([429, 429]);
    const limited = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: 'alice', password: PASSWORD } });
    expect(limited.statusCode).toBe(429);
    expect(limited.json().error.code).toBe('rate_limited');
    expect(limited.headers['retry-after']).toBeDefined();
  });

  it.each([
    [{ password: PASSWORD }, 'username'],
    [{ username: 'alice' }, 'password'],
    [{ username: '', password: PASSWORD }, 'username'],
    [{ username: 'alice', password: 5 }, 'password'],
    [{ username: 'a'.repeat(65), password: PASSWORD }, 'username'],
  ])('rejects a login body %j naming %s', async (payload, field) => {
    const res = await app.inject({ method: 'POST', url: '/api/auth/login', payload });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ code: 'invalid_input', field });
  });

  it('rejects a login that is not JSON', async () => {
    const form = await app.inject({ method: 'POST', url: '/api/auth/login', payload: 'username=alice', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(form.statusCode).toBe(415);
    expect(form.json().error.code).toBe('unsupported_media_type');
    const text = await app.inject({ method: 'POST', url: '/api/auth/login', payload: 'username=alice', headers: { 'content-type': 'text/plain' } });
    expect(text.statusCode).toBe(400);
    expect(text.json().error).toMatchObject({ code: 'invalid_input', field: 'body' });
    const empty = await app.inject({ method: 'POST', url: '/api/auth/login', headers: { 'content-type': 'application/json' } });
    expect(empty.statusCode).toBe(400);
    expect(empty.json().error).toMatchObject({ code: 'invalid_json', field: 'body' });
    const broken = await app.inject({ method: 'POST', url: '/api/auth/login', payload: '{"username":', headers: { 'content-type': 'application/json' } });
    expect(broken.statusCode).toBe(400);
    expect(broken.json().error).toMatchObject({ code: 'invalid_json', field: 'body' });
  });

  it('reads and changes the export email setting, refusing bad input', async () => {
    const { cookie, csrf } = await login(app, 'bob', PASSWORD);
    const headers = { cookie, 'x-csrf-token': csrf };
    expect((await app.inject({ method: 'GET', url: '/api/me/settings', headers })).json()).toEqual({ exportEmails: true });
    const off = await app.inject({ method: 'PATCH', url: '/api/me/settings', headers, payload: { exportEmails: false } });
    expect(off.statusCode).toBe(200);
    expect(off.json()).toEqual({ exportEmails: false });
    expect((await app.inject({ method: 'GET', url: '/api/me/settings', headers })).json()).toEqual({ exportEmails: false });
    const bad = await app.inject({ method: 'PATCH', url: '/api/me/settings', headers, payload: { exportEmails: 'no' } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.field).toBe('exportEmails');
    const unknown = await app.inject({ method: 'PATCH', url: '/api/me/settings', headers, payload: { theme: 'dark' } });
    expect(unknown.statusCode).toBe(400);
    expect((await app.inject({ method: 'PATCH', url: '/api/me/settings', payload: { exportEmails: true } })).statusCode).toBe(401);
  });

  it('answers unknown API paths with a JSON 404 and serves the OpenAPI document', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/nope/also/nope' });
    expect(res.statusCode).toBe(404);
    expect(res.json().error.code).toBe('not_found');
    const doc = await app.inject({ method: 'GET', url: '/api/docs/json' });
    expect(doc.statusCode).toBe(200);
    const paths = Object.keys(doc.json().paths);
    expect(paths).toEqual(expect.arrayContaining(['/api/auth/login', '/api/projects', '/api/{slug}/tree', '/api/{slug}/folders/{folderId}/patients']));
  });
});
