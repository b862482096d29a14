import '@fastify/rate-limit';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ShareService } from '../../services/share-service.js';
import { requireAuth, requestMeta } from '../auth-context.js';
import { errorResponses, slugParams } from '../schemas.js';
import { parseRange, sendDownload } from './download.js';

const shareSchema = z.object({
  id: z.string(),
  access: z.enum(['members', 'link']),
  createdAt: z.string(),
  expiresAt: z.string(),
  maxDownloads: z.number().nullable(),
  downloadCount: z.number(),
  lastDownloadAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
  state: z.enum(['active', 'expired', 'revoked', 'used_up']),
});

const exportParams = slugParams.extend({ id: z.uuid({ message: 'must be an id' }) });
const tokenParams = z.object({ token: z.string().min(1).max(200) });

export const shareRoutes: FastifyPluginAsyncZod<{ shares: ShareService; guessesPerMinute: number }> = async (app, { shares, guessesPerMinute }) => {
  app.post(
    '/api/:slug/exports/:id/shares',
    {
      schema: {
        tags: ['shares'],
        summary: 'Create a share link for a completed export (the token is returned once)',
        params: exportParams,
        body: z.strictObject({
          access: z.enum(['members', 'link']).describe('members: signed-in project members who may see every patient; link: anyone with the link (if the server allows)'),
          expiresInDays: z.number().int().min(1).max(365).optional(),
          maxDownloads: z.number().int().min(1).max(10_000).optional(),
        }),
        response: { 201: shareSchema.extend({ token: z.string(), url: z.string() }), ...errorResponses },
      },
    },
    async (request, reply) => {
      const created = await shares.create(requireAuth(request).actor, request.params.slug, request.params.id, request.body, requestMeta(request));
      return reply.status(201).send(created);
    },
  );

  app.get(
    '/api/:slug/exports/:id/shares',
    { schema: { tags: ['shares'], summary: "An export's share links", params: exportParams, response: { 200: z.object({ shares: z.array(shareSchema) }), ...errorResponses } } },
    async (request) => ({ shares: await shares.list(requireAuth(request).actor, request.params.slug, request.params.id) }),
  );

  app.delete(
    '/api/:slug/exports/:id/shares/:shareId',
    {
      schema: {
        tags: ['shares'],
        summary: 'Revoke a share link',
        params: exportParams.extend({ shareId: z.uuid({ message: 'must be an id' }) }),
        response: { 204: z.null(), ...errorResponses },
      },
    },
    async (request, reply) => {
      await shares.revoke(requireAuth(request).actor, request.params.slug, request.params.id, request.params.shareId, requestMeta(request));
      return reply.status(204).send(null);
    },
  );

  // Tokens are 256-bit; the limit makes guessing pointless and keeps scanners from loading the server.
  const guessLimit = { rateLimit: { max: guessesPerMinute, timeWindow: 60_000, keyGenerator: (request: { ip: string }) => `share:${request.ip}` } };

  app.get(
    '/api/share/:token',
    {
      schema: {
        tags: ['shares'],
        summary: 'What a share link holds',
        params: tokenParams,
        response: {
          200: z.object({
            name: z.string(),
            zipSize: z.number(),
            fileCount: z.number(),
            patientCount: z.number(),
            createdBy: z.string(),
            completedAt: z.string().nullable(),
            expiresAt: z.string(),
            access: z.enum(['members', 'link']),
            downloadsLeft: z.number().nullable(),
          }),
          ...errorResponses,
        },
      },
      config: guessLimit,
    },
    async (request) => shares.info(request.params.token, request.auth?.user ?? null),
  );

  app.get(
    '/api/share/:token/download',
    { schema: { tags: ['shares'], summary: 'Download a shared export (supports Range)', params: tokenParams }, config: guessLimit },
    async (request, reply) => {
      const range = parseRange(request.headers.range);
      const download = await shares.download(request.params.token, request.auth?.user ?? null, range, requestMeta(request));
      return sendDownload(reply, download);
    },
  );
};
