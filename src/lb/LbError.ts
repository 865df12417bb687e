import { SwasError } from '../core/index.js';

/** Why a load-balancer call failed, sorted by what the caller should do about it. */
export type LbErrorKind =
  | 'unreachable'
  | 'no_such_pool'
  | 'no_such_member'
  | 'permission_denied'
  | 'invalid_argument'
  | 'command_failed';

/** Stable, searchable code per kind. */
export const LB_ERROR_CODES: Readonly<Record<LbErrorKind, string>> = {
  unreachable: 'SWAS-LB-001',
  no_such_pool: 'SWAS-LB-002',
  no_such_member: 'SWAS-LB-003',
  permission_denied: 'SWAS-LB-004',
  invalid_argument: 'SWAS-LB-005',
  command_failed: 'SWAS-LB-006',
};

/** Where a load-balancer error happened; every field that is known is carried for logs and audit. */
export interface LbErrorContext {
  /** The load balancer's name in swas config. */
  readonly lb: string;
  /** How swas reaches it (socket path, host:port, URL). */
  readonly endpoint: string;
  readonly pool?: string;
  readonly member?: string;
  /** The command or request that failed. */
  readonly command?: string;
  /** The load balancer's own reply text, when it gave one. */
  readonly reply?: string;
}

/** A load-balancer call that failed; `kind` says what to do, the message says it in words. */
export class LbError extends SwasError {
  readonly kind: LbErrorKind;
  readonly context: LbErrorContext;

  constructor(kind: LbErrorKind, message: string, context: LbErrorContext, options?: { cause?: unknown }) {
    super(LB_ERROR_CODES[kind], message, options);
    this.kind = kind;
    this.context = context;
  }

  /** Only a transport failure may succeed when tried again unchanged; the other kinds need a person or a fix. */
  get retryable(): boolean {
    return this.kind === 'unreachable';
  }
}

/** Type guard that also narrows on kind, for `catch` blocks. */
export function isLbError(error: unknown, kind?: LbErrorKind): error is LbError {
  return error instanceof LbError && (kind === undefined || error.kind === kind);
}
