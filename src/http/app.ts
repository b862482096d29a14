import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import cookie from '@fastify/cookie';
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import fastifyStatic from '@fastify/static';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyInstance } from 'fastify';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Services } from '../services/index.js';
import { authContext } from './auth-context.js';
import { errorBody, handleError } from './errors.js';
import { authRoutes } from './routes/auth-routes.js';
import { browseRoutes } from './routes/browse-routes.js';
import { exportRoutes } from './routes/export-routes.js';
import { shareRoutes } from './routes/share-routes.js';

export interface HttpOptions {
  logLevel: string;
  sessionTtlMs: number;
  cookieSecure: boolean;
  trustProxy: boolean;
  loginRateLimitPerMinute: number;
  /** Requests per minute and client address to share links (wrong guesses included). */
  shareGuessesPerMinute?: number;
  /** Built web app (index.html and assets); when absent the API still works. */
  webRoot?: string;
  version: string;
}

export const DEFAULT_WEB_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/web');

/** The HTTP layer: plugins, routes and the web app. Routes only validate, call a service and reply. */
export async function buildHttpApp(services: Services, options: HttpOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logLevel === 'silent' ? false : { level: options.logLevel },
    trustProxy: options.trustProxy,
    // Room for selections of tens of thousands of patient ids; the schemas bound every array.
    bodyLimit: 4 * 1024 * 1024,
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.setErrorHandler(handleError);

  await app.register(helmet, {
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        // Mantine sets inline styles; scripts stay same-origin only.
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:', 'blob:'],
        scriptSrc: ["'self'"],
        upgradeInsecureRequests: null,
      },
    },
  });
  await app.register(cookie);
  await app.register(rateLimit, { global: false });
  await app.register(swagger, {
    openapi: {
      info: { title: 'Cohort API', version: options.version, description: 'Research imaging data: browsing and bulk export.' },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'API token from `npm run cohort -- token create`' },
          session: { type: 'apiKey', in: 'cookie', name: 'cohort_session' },
        },
      },
      security: [{ bearer: [] }, { session: [] }],
    },
    transform: jsonSchemaTransform,
  });
  await app.register(swaggerUi, { routePrefix: '/api/docs' });
  await app.register(authContext, { auth: services.auth });

  await app.register(authRoutes, {
    auth: services.auth,
    sessionTtlMs: options.sessionTtlMs,
    cookieSecure: options.cookieSecure,
    loginRateLimitPerMinute: options.loginRateLimitPerMinute,
  });
  await app.register(browseRoutes, { browse: services.browse });
  await app.register(exportRoutes, { exports: services.exports });
  await app.register(shareRoutes, { shares: services.shares, guessesPerMinute: options.shareGuessesPerMinute ?? 60 });
  app.get('/api/health', { schema: { hide: true } }, async () => ({ status: 'ok', version: options.version }));

  const webRoot = options.webRoot ?? DEFAULT_WEB_ROOT;
  const hasWeb = fs.existsSync(path.join(webRoot, 'index.html'));
  if (hasWeb) await app.register(fastifyStatic, { root: webRoot, wildcard: false, index: false });
  app.setNotFoundHandler((request, reply) => {
    if (request.url.startsWith('/api/') || request.method !== 'GET' || !hasWeb) {
      return reply.status(404).send(errorBody('not_found', `No such endpoint: ${request.method} ${request.url.split('?')[0]}`));
    }
    // Client-side routes (/login, /p/<slug>, …) all load the single-page app.
    return reply.type('text/html').header('cache-control', 'no-cache').sendFile('index.html');
  });
  return app;
}
