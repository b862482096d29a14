import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ExportService } from '../../services/export-service.js';
import { requireAuth, requestMeta } from '../auth-context.js';
import { errorResponses, slugParams } from '../schemas.js';
import { parseRange, sendDownload } from './download.js';

const id = z.uuid({ message: 'must be an id' });

export const exportRequestSchema = z.strictObject({
  // The exact rule (1-100 characters after trimming, no path characters) is the service's.
  name: z.string().max(1000).optional(),
  notes: z.string().max(5000).optional(),
  selection: z.strictObject({
    // Bounded so that one query's bound parameters stay within every database's limit.
    folderIds: z.array(id).max(1_000).optional(),
    patientIds: z.array(id).max(10_000, 'at most 10,000 single patients; pick folders for more').optional(),
    excludePatientIds: z.array(id).max(10_000).optional(),
    tags: z.array(z.string().min(1).max(64)).max(100).optional(),
    tagMode: z.enum(['any', 'all']).optional(),
  }),
  modalities: z.array(z.string().min(1).max(64)).min(1, 'choose at least one modality').max(50),
  include: z.strictObject({ raw: z.boolean(), processed: z.boolean() }),
  options: z
    .strictObject({
      compression: z.enum(['auto', 'store', 'deflate']).optional(),
      pseudonymize: z.boolean().optional(),
    })
    .optional(),
});

const progressSchema = z.object({
  phase: z.string(),
  percent: z.number(),
  filesDone: z.number(),
  filesTotal: z.number(),
  bytesDone: z.number(),
  bytesTotal: z.number(),
  etaSeconds: z.number().nullable(),
});

const exportSchema = z.object({
  id: z.string(),
  name: z.string(),
  notes: z.string(),
  status: z.enum(['pending', 'processing', 'completed', 'failed', 'cancelled', 'expired']),
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  completedAt: z.string().nullable(),
  expiresAt: z.string().nullable(),
  createdBy: z.object({ id: z.string(), username: z.string(), displayName: z.string() }),
  patientCount: z.number(),
  fileCount: z.number(),
  totalBytes: z.number(),
  zipSize: z.number().nullable(),
  zipSha256: z.string().nullable(),
  progress: progressSchema,
  cancelRequested: z.boolean(),
  errorMessage: z.string().nullable(),
  attempt: z.number(),
  skipped: z.array(z.object({ patientFolder: z.string(), reason: z.string() })),
  downloadCount: z.number(),
  lastDownloadAt: z.string().nullable(),
  notification: z.object({
    status: z.enum(['none', 'pending', 'sent', 'failed', 'skipped']).describe('whether the creator was emailed about the result'),
    sentAt: z.string().nullable(),
    error: z.string().nullable(),
  }),
  criteria: z.unknown(),
});

const exportParams = slugParams.extend({ id });

export const exportRoutes: FastifyPluginAsyncZod<{ exports: ExportService }> = async (app, { exports }) => {
  app.post(
    '/api/:slug/exports/create/',
    {
      schema: {
        tags: ['exports'],
        summary: 'Create an export; it is built in the background',
        params: slugParams,
        body: exportRequestSchema,
        response: {
          202: z.object({ id: z.string(), status: z.string(), patientCount: z.number(), fileCount: z.number(), totalBytes: z.number() }),
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const auth = requireAuth(request);
      const created = await exports.create(auth.actor, request.params.slug, request.body, requestMeta(request));
      return reply.status(202).send(created);
    },
  );

  app.post(
    '/api/:slug/exports/estimate',
    {
      schema: {
        tags: ['exports'],
        summary: 'Patient, file and byte counts of a request, in total and per modality',
        params: slugParams,
        // Also answers with nothing chosen yet, so a form can show the selection's size from the start.
        body: exportRequestSchema.extend({ modalities: z.array(z.string().min(1).max(64)).max(50) }),
        response: {
          200: z.object({
            selectedPatientCount: z.number().describe('patients the selection holds'),
            patientCount: z.number().describe('of those, patients with files of the chosen modalities and kinds (the ones exported)'),
            fileCount: z.number(),
            totalBytes: z.number(),
            perModality: z.array(z.object({ modality: z.string(), patientCount: z.number(), fileCount: z.number(), totalBytes: z.number() })),
            limits: z.object({ maxBytes: z.number(), maxPatients: z.number(), quotaBytes: z.number(), quotaUsedBytes: z.number() }),
            warnings: z.array(z.object({ code: z.string(), message: z.string() })),
          }),
          ...errorResponses,
        },
      },
    },
    async (request) => exports.estimate(requireAuth(request).actor, request.params.slug, request.body),
  );

  app.get(
    '/api/:slug/exports',
    {
      schema: {
        tags: ['exports'],
        summary: "The caller's exports (project admins: everyone's with all=true), newest first",
        params: slugParams,
        querystring: z.object({
          all: z.enum(['true', 'false']).default('false').transform((v) => v === 'true'),
          status: z
            .string()
            .optional()
            .transform((v) => (v ? v.split(',').map((s) => s.trim()) : undefined))
            .pipe(z.array(z.enum(['pending', 'processing', 'completed', 'failed', 'cancelled', 'expired'])).max(6).optional())
            .describe('one status or several, comma-separated (e.g. pending,processing)'),
          limit: z.coerce.number().int().min(1).max(200).default(25),
          offset: z.coerce.number().int().min(0).default(0),
        }),
        response: { 200: z.object({ total: z.number(), items: z.array(exportSchema) }), ...errorResponses },
      },
    },
    async (request) => exports.list(requireAuth(request).actor, request.params.slug, request.query),
  );

  app.get(
    '/api/:slug/exports/:id',
    { schema: { tags: ['exports'], summary: 'One export with its progress', params: exportParams, response: { 200: exportSchema, ...errorResponses } } },
    async (request) => exports.get(requireAuth(request).actor, request.params.slug, request.params.id),
  );

  app.post(
    '/api/:slug/exports/:id/cancel',
    { schema: { tags: ['exports'], summary: 'Cancel a waiting or running export', params: exportParams, response: { 200: exportSchema, ...errorResponses } } },
    async (request) => exports.cancel(requireAuth(request).actor, request.params.slug, request.params.id, requestMeta(request)),
  );

  app.post(
    '/api/:slug/exports/:id/retry',
    { schema: { tags: ['exports'], summary: 'Build a failed or cancelled export again', params: exportParams, response: { 200: exportSchema, ...errorResponses } } },
    async (request) => exports.retry(requireAuth(request).actor, request.params.slug, request.params.id, requestMeta(request)),
  );

  app.delete(
    '/api/:slug/exports/:id',
    { schema: { tags: ['exports'], summary: 'Delete an export and its ZIP', params: exportParams, response: { 204: z.null(), ...errorResponses } } },
    async (request, reply) => {
      await exports.delete(requireAuth(request).actor, request.params.slug, request.params.id, requestMeta(request));
      return reply.status(204).send(null);
    },
  );

  app.get(
    '/api/:slug/exports/:id/pseudonyms.csv',
    { schema: { tags: ['exports'], summary: 'Pseudonym mapping of a pseudonymised export (project admins)', params: exportParams } },
    async (request, reply) => {
      const csv = await exports.pseudonymMapping(requireAuth(request).actor, request.params.slug, request.params.id);
      return reply.type('text/csv; charset=utf-8').header('content-disposition', 'attachment; filename="pseudonyms.csv"').send(csv);
    },
  );

  app.get(
    '/api/:slug/exports/:id/download',
    { schema: { tags: ['exports'], summary: 'Download the ZIP (supports Range and If-Range for resuming)', params: exportParams } },
    async (request, reply) => {
      const auth = requireAuth(request);
      const range = parseRange(request.headers.range);
      const ifRange = request.headers['if-range'];
      // A resumed download of a different build must start over rather than splice two files.
      const download = await exports.download(auth.actor, request.params.slug, request.params.id, range, requestMeta(request));
      if (range && ifRange && ifRange !== download.etag) {
        download.stream.destroy();
        const whole = await exports.download(auth.actor, request.params.slug, request.params.id, null, requestMeta(request));
        return sendDownload(reply, whole);
      }
      return sendDownload(reply, download);
    },
  );
};
