/**
 * The base of every error swas expects and reports: a stable code users can search for,
 * a message that says what was wrong, where, and what to do.
 */
export class SwasError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** The caller sent something invalid (HTTP 400). */
export class InputError extends SwasError {}
/** The caller is not authenticated (HTTP 401). */
export class AuthenticationError extends SwasError {}
/** The caller may not do this (HTTP 403). */
export class NotAllowedError extends SwasError {}
/** The thing asked for does not exist (HTTP 404). */
export class NotFoundError extends SwasError {}
/** The request conflicts with current state (HTTP 409). */
export class ConflictError extends SwasError {}

/** A short, safe description of any thrown value. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
