import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { BrowseService } from '../../services/browse-service.js';
import { requireAuth } from '../auth-context.js';
import { errorResponses, projectSummarySchema, slugParams } from '../schemas.js';

const booleanQuery = z.enum(['true', 'false']).transform((v) => v === 'true');

const patientsQuery = z.object({
  q: z.string().trim().max(200).optional(),
  tags: z
    .string()
    .max(2000)
    .optional()
    .transform((v) => (v ? v.split(',').map((t) => t.trim()).filter(Boolean) : []))
    .pipe(z.array(z.string().max(64)).max(50)),
  tagMode: z.enum(['any', 'all']).default('any'),
  recursive: booleanQuery.default(false),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  offset: z.coerce.number().int().min(0).max(10_000_000).default(0),
});

const patientSchema = z.object({
  id: z.string(),
  name: z.string(),
  code: z.string().nullable(),
  visibility: z.enum(['public', 'private', 'debug']),
  folderId: z.string(),
  folderPath: z.string(),
  tags: z.array(z.string()),
  modalities: z.array(z.string()),
  fileCount: z.number(),
  totalBytes: z.number(),
  createdAt: z.string(),
});

const folderSchema = z.object({
  id: z.string(),
  parentId: z.string().nullable(),
  name: z.string(),
  path: z.string(),
  patientCount: z.number(),
  totalPatientCount: z.number(),
  accessible: z.boolean(),
});

const modalitySchema = z.object({
  slug: z.string(),
  name: z.string(),
  subtypes: z.array(z.string()),
  extensions: z.array(z.string()),
  patientCount: z.number(),
  fileCount: z.number(),
  totalBytes: z.number(),
});

const tagSchema = z.object({ id: z.string(), name: z.string(), color: z.string().nullable(), patientCount: z.number() });

export const browseRoutes: FastifyPluginAsyncZod<{ browse: BrowseService }> = async (app, { browse }) => {
  app.get(
    '/api/projects',
    {
      schema: {
        tags: ['browse'],
        summary: "The caller's projects and role in each",
        response: { 200: z.object({ projects: z.array(projectSummarySchema) }), ...errorResponses },
      },
    },
    async (request) => ({ projects: await browse.listProjects(requireAuth(request).actor) }),
  );

  app.get(
    '/api/:slug/tree',
    {
      schema: {
        tags: ['browse'],
        summary: 'Folder tree with visible patient counts',
        params: slugParams,
        response: { 200: z.object({ project: projectSummarySchema, folders: z.array(folderSchema) }), ...errorResponses },
      },
    },
    async (request) => browse.tree(requireAuth(request).actor, request.params.slug),
  );

  app.get(
    '/api/:slug/folders/:folderId/patients',
    {
      schema: {
        tags: ['browse'],
        summary: 'Patients of a folder, paginated, filtered by text and tags',
        params: slugParams.extend({ folderId: z.uuid({ message: 'must be a folder id' }) }),
        querystring: patientsQuery,
        response: { 200: z.object({ total: z.number(), items: z.array(patientSchema) }), ...errorResponses },
      },
    },
    async (request) => {
      const { q, ...rest } = request.query;
      return browse.folderPatients(requireAuth(request).actor, request.params.slug, request.params.folderId, { text: q, ...rest });
    },
  );

  app.get(
    '/api/:slug/modalities',
    {
      schema: {
        tags: ['browse'],
        summary: "The project's modalities with visible patient, file and byte counts",
        params: slugParams,
        response: { 200: z.object({ modalities: z.array(modalitySchema) }), ...errorResponses },
      },
    },
    async (request) => ({ modalities: await browse.modalities(requireAuth(request).actor, request.params.slug) }),
  );

  app.get(
    '/api/:slug/tags',
    {
      schema: {
        tags: ['browse'],
        summary: "The project's tags with visible patient counts",
        params: slugParams,
        response: { 200: z.object({ tags: z.array(tagSchema) }), ...errorResponses },
      },
    },
    async (request) => ({ tags: await browse.tags(requireAuth(request).actor, request.params.slug) }),
  );
};
