/**
 * Failures a use case reports to its caller. The HTTP layer maps each kind to a status code and
 * the `{ error: { code, message, field } }` body; messages are written for the person reading them.
 */
export class AppError extends Error {
  constructor(
    readonly kind: 'validation' | 'unauthorized' | 'forbidden' | 'not_found' | 'conflict' | 'rate_limited' | 'unavailable' | 'insufficient_storage' | 'range_not_satisfiable',
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'AppError';
  }
}

export const validationError = (field: string, message: string, code = 'invalid_input') =>
  new AppError('validation', code, message, field);
export const notFound = (what: string) => new AppError('not_found', 'not_found', `${what} was not found.`);
export const forbidden = (message: string) => new AppError('forbidden', 'forbidden', message);
export const unauthorized = (message = 'Please sign in.') => new AppError('unauthorized', 'unauthorized', message);
export const conflict = (field: string | undefined, message: string, code = 'conflict') => new AppError('conflict', code, message, field);
