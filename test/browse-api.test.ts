import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestApp, openTestContext, login, type TestContext } from './helpers/context.js';
import { testDatabases } from './helpers/databases.js';
import { PASSWORD, seedWorld, type World } from './helpers/world.js';

describe.each(testDatabases())('browsing API on $name', (database) => {
  let ctx: TestContext;
  let app: FastifyInstance;
  let world: World;
  const cookies: Record<string, string> = {};

  beforeAll(async () => {
    ctx = await openTestContext(database);
    world = await seedWorld(ctx.services);
    app = await openTestApp(ctx);
    for (const u of ['root', 'alice', 'bob', 'carol', 'dave', 'erin']) cookies[u] = (await login(app, u, PASSWORD)).cookie;
  });
  afterAll(async () => {
    await app?.close();
    await ctx?.close();
  });

  const get = (user: string, url: string) => app.inject({ method: 'GET', url, headers: { cookie: cookies[user]! } });
  const patientNames = async (user: string, folderId: string, query = 'recursive=true') => {
    const res = await get(user, `/api/alpha/folders/${folderId}/patients?${query}`);
    expect(res.statusCode, res.body).toBe(200);
    return (res.json().items as Array<{ name: string }>).map((p) => p.name).sort();
  };

  it('lists only the projects the caller is a member of, with the role', async () => {
    expect((await get('alice', '/api/projects')).json().projects).toEqual([expect.objectContaining({ slug: 'alpha', role: 'admin', name: 'Alpha study' })]);
    expect((await get('erin', '/api/projects')).json().projects.map((p: { slug: string }) => p.slug)).toEqual(['beta']);
    expect((await get('root', '/api/projects')).json().projects).toEqual([]);
  });

  it.each([
    ['alice', ['a1', 'b1', 'base1', 'base2', 'baseDebug', 'basePrivateBob', 'follow1']],
    ['bob', ['a1', 'b1', 'base1', 'base2', 'basePrivateBob', 'follow1']],
    ['carol', ['a1', 'b1', 'base1', 'base2', 'follow1']],
    ['dave', ['base1', 'base2']],
  ])('%s sees exactly the patients the policy allows', async (user, expected) => {
    const tree = (await get(user, '/api/alpha/tree')).json();
    const names: string[] = [];
    for (const f of tree.folders.filter((f: { parentId: string | null }) => f.parentId === null)) names.push(...(await patientNames(user, f.id)));
    expect(names.sort()).toEqual([...expected].sort());
  });

  it('shows a granted member the ancestors of the grant without their patients', async () => {
    const tree = (await get('dave', '/api/alpha/tree')).json();
    const byPath = Object.fromEntries(tree.folders.map((f: { path: string }) => [f.path, f]));
    expect(Object.keys(byPath).sort()).toEqual(['Study A', 'Study A/Baseline']);
    expect(byPath['Study A']).toMatchObject({ accessible: false, patientCount: 0, totalPatientCount: 2 });
    expect(byPath['Study A/Baseline']).toMatchObject({ accessible: true, patientCount: 2, totalPatientCount: 2 });
    expect(await patientNames('dave', world.folders.studyA.id, 'recursive=false')).toEqual([]);
    const sibling = await get('dave', `/api/alpha/folders/${world.folders.followUp.id}/patients`);
    expect(sibling.statusCode).toBe(404);
  });

  it('counts patients per folder and in total for the caller', async () => {
    const tree = (await get('carol', '/api/alpha/tree')).json();
    const studyA = tree.folders.find((f: { path: string }) => f.path === 'Study A');
    expect(studyA).toMatchObject({ patientCount: 1, totalPatientCount: 4, accessible: true });
    expect(tree.project).toMatchObject({ slug: 'alpha', role: 'viewer' });
  });

  it('answers 404 for other projects, unknown projects and folders of another project', async () => {
    for (const url of ['/api/alpha/tree', '/api/alpha/modalities', '/api/alpha/tags', `/api/alpha/folders/${world.folders.studyA.id}/patients`]) {
      const res = await get('erin', url);
      expect(res.statusCode, url).toBe(404);
      expect(res.json().error.code).toBe('not_found');
    }
    expect((await get('alice', '/api/nope/tree')).json().error.message).toBe((await get('erin', '/api/alpha/tree')).json().error.message);
    expect((await get('alice', `/api/alpha/folders/${world.folders.betaRoot.id}/patients`)).statusCode).toBe(404);
    expect((await get('root', '/api/alpha/tree')).statusCode).toBe(404);
  });

  it('filters by text, by tags (any / all) and paginates', async () => {
    const folder = world.folders.studyA.id;
    expect(await patientNames('alice', folder, 'recursive=true&q=BASE1')).toEqual(['base1']);
    expect(await patientNames('alice', folder, 'recursive=true&q=c-follow')).toEqual(['follow1']);
    expect(await patientNames('alice', folder, 'recursive=true&q=%25')).toEqual([]);
    expect(await patientNames('alice', folder, 'recursive=true&tags=class-ii,follow-up')).toEqual(['a1', 'base1', 'follow1']);
    expect(await patientNames('alice', folder, 'recursive=true&tags=class-ii,consented&tagMode=all')).toEqual(['base1']);
    const page1 = (await get('alice', `/api/alpha/folders/${folder}/patients?recursive=true&limit=2&offset=0`)).json();
    const page2 = (await get('alice', `/api/alpha/folders/${folder}/patients?recursive=true&limit=2&offset=2`)).json();
    expect(page1.total).toBe(6);
    expect(page1.items).toHaveLength(2);
    expect(new Set([...page1.items, ...page2.items].map((p: { id: string }) => p.id)).size).toBe(4);
  });

  it('describes patients with tags, folder and visibility', async () => {
    const res = await get('alice', `/api/alpha/folders/${world.folders.baseline.id}/patients`);
    const base1 = res.json().items.find((p: { name: string }) => p.name === 'base1');
    expect(base1).toMatchObject({ code: 'C-base1', folderPath: 'Study A/Baseline', tags: ['class-ii', 'consented'], visibility: 'public', modalities: [], fileCount: 0, totalBytes: 0 });
  });

  it('lists modalities and tags with counts limited to what the caller sees', async () => {
    const modalities = (await get('dave', '/api/alpha/modalities')).json().modalities;
    expect(modalities.map((m: { slug: string }) => m.slug)).toContain('cbct');
    expect(modalities.find((m: { slug: string }) => m.slug === 'ios').subtypes).toEqual(['upper', 'lower', 'bite']);
    const tags = Object.fromEntries((await get('dave', '/api/alpha/tags')).json().tags.map((t: { name: string; patientCount: number }) => [t.name, t.patientCount]));
    expect(tags).toEqual({ 'class-ii': 1, consented: 2, 'follow-up': 0 });
    const aliceTags = Object.fromEntries((await get('alice', '/api/alpha/tags')).json().tags.map((t: { name: string; patientCount: number }) => [t.name, t.patientCount]));
    expect(aliceTags).toEqual({ 'class-ii': 2, consented: 2, 'follow-up': 1 });
  });

  it.each([
    ['/api/alpha/folders/not-a-uuid/patients', 'folderId'],
    ['/api/Alpha!/tree', 'slug'],
    ['/api/alpha/folders/00000000-0000-4000-8000-000000000000/patients?limit=0', 'limit'],
    ['/api/alpha/folders/00000000-0000-4000-8000-000000000000/patients?limit=abc', 'limit'],
    ['/api/alpha/folders/00000000-0000-4000-8000-000000000000/patients?offset=-1', 'offset'],
    ['/api/alpha/folders/00000000-0000-4000-8000-000000000000/patients?tagMode=some', 'tagMode'],
    ['/api/alpha/folders/00000000-0000-4000-8000-000000000000/patients?recursive=yes', 'recursive'],
    [`/api/alpha/folders/00000000-0000-4000-8000-000000000000/patients?q=${'x'.repeat(201)}`, 'q'],
  ])('rejects bad input %s naming %s', async (url, field) => {
    const res = await get('alice', url);
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ code: 'invalid_input', field });
  });

  it('requires a signed-in caller on every browsing route', async () => {
    for (const url of ['/api/projects', '/api/alpha/tree', '/api/alpha/modalities', '/api/alpha/tags', `/api/alpha/folders/${world.folders.studyA.id}/patients`]) {
      const res = await app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(401);
      expect(res.json().error.code).toBe('unauthorized');
    }
  });
});
