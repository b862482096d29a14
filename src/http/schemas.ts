import { z } from 'zod';

export const errorSchema = z.object({
  error: z.object({ code: z.string(), message: z.string(), field: z.string().optional() }),
});

export const userSchema = z.object({
  id: z.string(),
  username: z.string(),
  email: z.string(),
  displayName: z.string(),
  isSiteAdmin: z.boolean(),
});

export const sessionSchema = z.object({ user: userSchema, csrfToken: z.string() });

export const roleSchema = z.enum(['admin', 'member', 'viewer']);

export const projectSummarySchema = z.object({
  id: z.string(),
  slug: z.string(),
  name: z.string(),
  description: z.string(),
  role: roleSchema,
});

export const slugParams = z.object({
  slug: z.string().regex(/^[a-z0-9-]{1,64}$/, 'must be a project slug'),
});

export const errorResponses = {
  400: errorSchema,
  401: errorSchema,
  403: errorSchema,
  404: errorSchema,
  429: errorSchema,
};
