import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { AppError } from '../domain/errors.js';

const STATUS: Record<AppError['kind'], number> = {
  validation: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  rate_limited: 429,
  unavailable: 503,
  insufficient_storage: 507,
  range_not_satisfiable: 416,
};

export interface ErrorBody {
  error: { code: string; message: string; field?: string };
}

export function errorBody(code: string, message: string, field?: string): ErrorBody {
  return { error: field ? { code, message, field } : { code, message } };
}

/** Every failure leaves the API as `{ error: { code, message, field? } }` with a fitting status. */
export function handleError(error: FastifyError | AppError | Error, request: FastifyRequest, reply: FastifyReply) {
  if (error instanceof AppError) {
    return reply.status(STATUS[error.kind]).send(errorBody(error.code, error.message, error.field));
  }
  if (hasZodFastifySchemaValidationErrors(error)) {
    const first = error.validation[0]!;
    const fromPath = first.instancePath.replace(/^\//, '').replace(/\//g, '.');
    const missing = (first.params as { issue?: { code?: string; input?: unknown } } | undefined)?.issue;
    const field = fromPath || (error.validationContext === 'body' ? 'body' : error.validationContext ?? 'input');
    const message =
      missing?.code === 'invalid_type' && missing.input === undefined ? `${field} is required.` : `${field}: ${first.message ?? 'is not valid'}.`;
    return reply.status(400).send(errorBody('invalid_input', message, field));
  }
  const fastifyError = error as FastifyError;
  if (fastifyError.statusCode === 429) {
    return reply.status(429).send(errorBody('rate_limited', 'Too many attempts. Please wait a minute and try again.'));
  }
  if (fastifyError.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || fastifyError.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || fastifyError.name === 'SyntaxError') {
    return reply.status(400).send(errorBody('invalid_json', 'The request body must be valid JSON.', 'body'));
  }
  if (fastifyError.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return reply.status(413).send(errorBody('body_too_large', 'The request body is too large.', 'body'));
  }
  if (fastifyError.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    return reply.status(415).send(errorBody('unsupported_media_type', 'Send a JSON body with Content-Type: application/json.', 'body'));
  }
  if (fastifyError.statusCode && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
    return reply.status(fastifyError.statusCode).send(errorBody('bad_request', fastifyError.message));
  }
  request.log.error({ err: error }, 'request failed');
  return reply.status(500).send(errorBody('internal_error', 'Something went wrong on the server. The error was logged.'));
}
