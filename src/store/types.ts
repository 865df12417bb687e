import type { AlertMatcher, Labels } from '../core/index.js';

/** Which SQL engine a store runs on. */
export type StoreDialect = 'sqlite' | 'postgres';

/** What an API token may do; each role includes the ones before it. */
export type TokenRole = 'viewer' | 'operator' | 'admin';

/** An API token as listed: never its secret or its hash. */
export interface TokenInfo {
  readonly id: number;
  readonly name: string;
  readonly role: TokenRole;
  readonly createdAt: number;
  readonly lastUsedAt: number | null;
  readonly revokedAt: number | null;
}

/** The caller a valid token identifies. */
export interface TokenIdentity {
  readonly id: number;
  readonly name: string;
  readonly role: TokenRole;
}

/** A freshly created token: `token` is the only time the secret is ever available. */
export interface CreatedToken {
  readonly id: number;
  readonly token: string;
}

/** API tokens, stored only as SHA-256 hashes. */
export interface TokenRepository {
  /** Creates a token and returns its secret once; only its hash is stored. */
  create(input: { name: string; role: TokenRole }, nowMs: number): Promise<CreatedToken>;
  /** Returns who a token belongs to and records its use; null for unknown, malformed or revoked tokens. */
  verify(token: string, nowMs: number): Promise<TokenIdentity | null>;
  /** Lists all tokens, oldest first, without secrets or hashes. */
  list(): Promise<TokenInfo[]>;
  /** Revokes a token; false when it does not exist or was already revoked. */
  revoke(id: number, nowMs: number): Promise<boolean>;
}

/** The persisted state of one alert of an alerting rule. */
export type AlertState = 'pending' | 'firing' | 'resolved';

/** One alert's persisted state, keyed by a fingerprint of its rule and labels. */
export interface AlertRow {
  readonly fingerprint: string;
  readonly rule: string;
  readonly labels: Labels;
  readonly annotations: Readonly<Record<string, string>>;
  readonly state: AlertState;
  readonly activeAt: number;
  readonly firedAt: number | null;
  readonly resolvedAt: number | null;
  /** The last evaluated value; NaN is stored as null because SQLite cannot store NaN. */
  readonly lastValue: number | null;
  readonly updatedAt: number;
}

/** Alert state that survives restarts, so `for:` clocks and firing alerts are not reset. */
export interface AlertRepository {
  /** Inserts or replaces the alert with this fingerprint. */
  upsert(row: AlertRow): Promise<void>;
  /** Returns one alert, or null. */
  get(fingerprint: string): Promise<AlertRow | null>;
  /** Returns pending and firing alerts, oldest activation first. */
  listActive(): Promise<AlertRow[]>;
  /** Returns alerts, most recently updated first. */
  list(options?: { state?: AlertState | readonly AlertState[]; limit?: number }): Promise<AlertRow[]>;
  /** Deletes resolved alerts resolved before `t`; returns how many were deleted. */
  deleteResolvedBefore(t: number): Promise<number>;
}

/** Where an incident is in its life. */
export type IncidentStatus = 'open' | 'acknowledged' | 'resolved';

/** A group of related alerts about one problem. */
export interface Incident {
  readonly id: number;
  /** The grouping key; at most one unresolved incident has a given key. */
  readonly key: string;
  readonly title: string;
  readonly severity: string;
  readonly status: IncidentStatus;
  readonly labels: Labels;
  readonly openedAt: number;
  readonly acknowledgedAt: number | null;
  readonly acknowledgedBy: string | null;
  readonly resolvedAt: number | null;
  readonly escalatedAt: number | null;
  readonly updatedAt: number;
}

/** What opening an incident needs. */
export interface NewIncident {
  readonly key: string;
  readonly title: string;
  readonly severity: string;
  readonly labels: Labels;
}

/** The fields of an incident that may change after it was opened. */
export type IncidentPatch = Partial<
  Pick<
    Incident,
    | 'title'
    | 'severity'
    | 'status'
    | 'labels'
    | 'acknowledgedAt'
    | 'acknowledgedBy'
    | 'resolvedAt'
    | 'escalatedAt'
  >
>;

/** Which incidents {@link IncidentRepository.list} returns; all filters must hold. */
export interface IncidentListOptions {
  readonly status?: IncidentStatus | readonly IncidentStatus[];
  readonly severity?: string | readonly string[];
  /** Only incidents whose labels all these matchers hold for (a missing label is the empty value). */
  readonly matchers?: readonly AlertMatcher[];
  /** Only incidents opened at or after this time (epoch ms). */
  readonly openedSince?: number;
  /** Only incidents opened before this time (epoch ms). */
  readonly openedUntil?: number;
  /** @default 50 */
  readonly limit?: number;
  /** Only incidents with a smaller id: pass the last id of the previous page. */
  readonly beforeId?: number;
}

/** Incidents. */
export interface IncidentRepository {
  /** Opens an incident; throws ConflictError (SWAS-STORE-004) if an unresolved one with this key exists. */
  open(input: NewIncident, nowMs: number): Promise<Incident>;
  /** Returns one incident, or null. */
  get(id: number): Promise<Incident | null>;
  /** Returns the unresolved (open or acknowledged) incident with this key, or null. */
  findOpenByKey(key: string): Promise<Incident | null>;
  /** Returns incidents newest first (by id, a stable order); `beforeId` pages backwards. */
  list(options?: IncidentListOptions): Promise<Incident[]>;
  /** Applies a patch and stamps `updatedAt`; null when no such incident. */
  update(id: number, patch: IncidentPatch, nowMs: number): Promise<Incident | null>;
}

/** One event on an incident's timeline. */
export interface TimelineEntry {
  readonly id: number;
  readonly incidentId: number;
  readonly at: number;
  readonly kind: string;
  readonly message: string;
  readonly data: Readonly<Record<string, unknown>>;
}

/** Incident timelines. */
export interface TimelineRepository {
  /** Appends an entry to an incident's timeline. */
  append(entry: Omit<TimelineEntry, 'id'>): Promise<TimelineEntry>;
  /** Returns an incident's timeline in order of time, then insertion. */
  list(incidentId: number): Promise<TimelineEntry[]>;
}

/** Where a runbook run is in its life. */
export type RunStatus = 'pending' | 'running' | 'parked' | 'succeeded' | 'failed' | 'cancelled';

/** Where one step of a run is. */
export type StepStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'skipped';

/** One execution of a runbook against concrete targets. */
export interface Run {
  readonly id: string;
  readonly runbook: string;
  readonly incidentId: number | null;
  readonly target: Readonly<Record<string, string>>;
  readonly status: RunStatus;
  readonly trigger: Readonly<Record<string, unknown>>;
  readonly createdAt: number;
  readonly startedAt: number | null;
  readonly finishedAt: number | null;
  readonly error: string | null;
  readonly currentStep: number;
}

/** One step of a run. */
export interface RunStep {
  readonly runId: string;
  readonly index: number;
  readonly name: string;
  readonly action: string;
  readonly params: Readonly<Record<string, unknown>>;
  readonly status: StepStatus;
  readonly startedAt: number | null;
  readonly endedAt: number | null;
  readonly result: Readonly<Record<string, unknown>> | null;
  readonly error: string | null;
}

/** A run with its steps in order. */
export interface RunWithSteps {
  readonly run: Run;
  readonly steps: RunStep[];
}

/** What creating a run needs; `id` defaults to a random UUID, `status` to pending, `currentStep` to 0. */
export type NewRun = Pick<Run, 'runbook' | 'incidentId' | 'target' | 'trigger' | 'createdAt'> &
  Partial<Pick<Run, 'id' | 'status' | 'startedAt' | 'finishedAt' | 'error' | 'currentStep'>>;

/** What creating a step needs; its index is its position in the list, `status` defaults to pending. */
export type NewRunStep = Pick<RunStep, 'name' | 'action' | 'params'> &
  Partial<Pick<RunStep, 'status' | 'startedAt' | 'endedAt' | 'result' | 'error'>>;

/** The fields of a run that may change. */
export type RunPatch = Partial<
  Pick<Run, 'status' | 'target' | 'startedAt' | 'finishedAt' | 'error' | 'currentStep'>
>;

/** The fields of a step that may change. */
export type RunStepPatch = Partial<Pick<RunStep, 'status' | 'startedAt' | 'endedAt' | 'result' | 'error'>>;

/** Durable runbook runs and their steps. */
export interface RunRepository {
  /** Creates a run and its steps in one transaction. */
  create(run: NewRun, steps: readonly NewRunStep[]): Promise<RunWithSteps>;
  /** Returns a run with its steps, or null. */
  get(id: string): Promise<RunWithSteps | null>;
  /** Returns runs newest first. */
  list(options?: {
    status?: RunStatus | readonly RunStatus[];
    incidentId?: number;
    /** Only runs created at or after this time (epoch ms), e.g. the start of a flap-budget window. */
    since?: number;
    /** @default 50 */
    limit?: number;
  }): Promise<Run[]>;
  /** Returns pending, running and parked runs, oldest first, so a restart resumes them in order. */
  listUnfinished(): Promise<Run[]>;
  /** Applies a patch; null when no such run. */
  update(id: string, patch: RunPatch): Promise<Run | null>;
  /** Applies a patch to one step; null when no such step. */
  updateStep(runId: string, index: number, patch: RunStepPatch): Promise<RunStep | null>;
  /** Appends steps after the run's last step (its undo path), in one transaction; returns them. */
  appendSteps(runId: string, steps: readonly NewRunStep[]): Promise<RunStep[]>;
}

/** What an audit entry records; the store adds `seq`, `prevHash` and `hash`. */
export interface NewAuditEntry {
  readonly at: number;
  readonly actor: string;
  readonly action: string;
  readonly target: string;
  readonly reason: string | null;
  /** Any JSON value; stored as JSON, so `undefined` becomes null. */
  readonly before: unknown;
  /** Any JSON value; stored as JSON, so `undefined` becomes null. */
  readonly after: unknown;
  readonly result: string;
}

/** One entry of the hash-chained audit log. */
export interface AuditEntry extends NewAuditEntry {
  readonly seq: number;
  readonly prevHash: string;
  readonly hash: string;
}

/** The outcome of checking the audit chain. */
export type AuditVerification = { ok: true; count: number } | { ok: false; seq: number; reason: string };

/** The append-only, hash-chained audit log; it has no way to change or remove entries. */
export interface AuditRepository {
  /** Appends an entry, chaining it to the previous one; safe under concurrent appends. */
  append(entry: NewAuditEntry): Promise<AuditEntry>;
  /** Returns entries in order. */
  list(options?: {
    afterSeq?: number;
    /** @default 1000 */
    limit?: number;
  }): Promise<AuditEntry[]>;
  /** Recomputes the chain and reports the first entry that was edited, removed or re-chained. */
  verify(): Promise<AuditVerification>;
}

/** One label condition of a silence; a silence applies to an alert when all its matchers hold. */
export type SilenceMatcher = AlertMatcher;

/** A silence: while active (`startsAt <= now < endsAt`, not expired), matching alerts page nobody and start no runbook. */
export interface Silence {
  readonly id: number;
  readonly matchers: readonly SilenceMatcher[];
  /** Epoch milliseconds. */
  readonly startsAt: number;
  readonly endsAt: number;
  readonly createdBy: string;
  readonly comment: string;
  readonly createdAt: number;
  /** Set when someone ended the silence early; an expired silence never applies again. */
  readonly expiredAt: number | null;
}

/** What creating a silence needs. */
export type NewSilence = Pick<
  Silence,
  'matchers' | 'startsAt' | 'endsAt' | 'createdBy' | 'comment' | 'createdAt'
>;

/** Stored silences. */
export interface SilenceRepository {
  create(silence: NewSilence): Promise<Silence>;
  get(id: number): Promise<Silence | null>;
  /**
   * Newest first. `activeAt` keeps only silences active at that time; `inactiveAt` only those not active
   * then (not started, ended, or expired); expired ones are left out unless `includeExpired`.
   */
  list(options?: {
    activeAt?: number;
    inactiveAt?: number;
    includeExpired?: boolean;
    /** @default 100 */
    limit?: number;
  }): Promise<Silence[]>;
  /** Ends a silence now (`expiredAt = at`, `endsAt = min(endsAt, at)`); null if unknown. Idempotent. */
  expire(id: number, at: number): Promise<Silence | null>;
}

/** A target automation leaves alone after it spent its flap budget, until a human releases it. */
export interface Quarantine {
  readonly id: number;
  /** Stable key of the target (the lead computes it; store it as given, compare by equality). */
  readonly targetKey: string;
  readonly target: Readonly<Record<string, string>>;
  readonly runbook: string;
  readonly reason: string;
  /** The runs that spent the budget, oldest first. */
  readonly runIds: readonly string[];
  readonly createdAt: number;
  readonly releasedAt: number | null;
  readonly releasedBy: string | null;
}

/** What quarantining a target needs. */
export interface NewQuarantine {
  readonly targetKey: string;
  readonly target: Readonly<Record<string, string>>;
  readonly runbook: string;
  readonly reason: string;
  readonly runIds: readonly string[];
  readonly createdAt: number;
}

/** Quarantined targets: at most one active (unreleased) quarantine per target key. */
export interface QuarantineRepository {
  /** Creates a quarantine unless one is active (not released) for the target; atomic, so of two
   *  concurrent calls exactly one gets created: true. Returns the active quarantine either way. */
  create(quarantine: NewQuarantine): Promise<{ quarantine: Quarantine; created: boolean }>;
  /** The active quarantine of a target, or null. */
  active(targetKey: string): Promise<Quarantine | null>;
  /** Newest first; `active: true` keeps only unreleased ones (false or absent: all). @default limit 100 */
  list(options?: { active?: boolean; limit?: number }): Promise<Quarantine[]>;
  /** Releases an active quarantine; null when there is no such quarantine; an already released one
   *  is returned unchanged. */
  release(id: number, by: string, at: number): Promise<Quarantine | null>;
}

/** An enrolled agent as listed: never its credential or its hash. */
export interface Agent {
  readonly id: number;
  /** Unique among agents that are not revoked; the value of the `agent` label on its samples. */
  readonly name: string;
  readonly hostname: string;
  readonly labels: Labels;
  readonly createdAt: number;
  readonly lastSeenAt: number | null;
  readonly revokedAt: number | null;
  readonly revokedBy: string | null;
  /** The agent's software version from its last hello, or null before it connected. */
  readonly version: string | null;
  /** The pushed config version the agent reported running, or null. */
  readonly configVersion: string | null;
}

/** A freshly created enrollment token: `token` is the only time the secret is ever available. */
export interface CreatedEnrollmentToken {
  readonly id: number;
  readonly token: string;
  readonly expiresAt: number;
}

/** Why an enrollment was refused. */
export type EnrollRefusal = 'unknown_token' | 'expired_token' | 'used_token' | 'name_taken';

/** The outcome of an enrollment: the agent and its credential (shown once), or why not. */
export type EnrollResult =
  | { readonly ok: true; readonly agent: Agent; readonly credential: string }
  | { readonly ok: false; readonly reason: EnrollRefusal; readonly message: string };

/** What enrolling an agent needs. */
export interface EnrollInput {
  /** The enrollment token's secret (`swas_enroll_…`). */
  readonly token: string;
  readonly name: string;
  readonly hostname: string;
  /** Labels the agent asks for; the token's labels win on a clash. */
  readonly labels?: Labels;
}

/** What an agent reported about itself when it connected. */
export interface AgentSeen {
  readonly lastSeenAt: number;
  readonly version?: string;
  readonly configVersion?: string | null;
  readonly hostname?: string;
}

/** Agents and their one-time enrollment tokens; only hashes of secrets are stored. */
export interface AgentRepository {
  /** Creates a single-use enrollment token valid for `ttlMs`; returns its secret once. */
  createEnrollmentToken(
    input: { createdBy: string; ttlMs: number; labels?: Labels },
    nowMs: number,
  ): Promise<CreatedEnrollmentToken>;
  /** Spends an enrollment token on a new agent; atomic, so of two enrolls with one token exactly one wins. */
  enroll(input: EnrollInput, nowMs: number): Promise<EnrollResult>;
  /** The agent a credential belongs to; null for unknown, malformed or revoked credentials. */
  verifyCredential(credential: string, nowMs: number): Promise<Agent | null>;
  /** All agents, revoked ones too, oldest first. */
  list(): Promise<Agent[]>;
  /** Revokes an agent by id, or by name among agents not revoked; null when there is no such agent. */
  revoke(idOrName: number | string, by: string, nowMs: number): Promise<Agent | null>;
  /** Records that an agent was seen, and what it reported. */
  touch(id: number, seen: AgentSeen): Promise<void>;
}

/** swas's state database: one set of repositories over SQLite or PostgreSQL. */
export interface StateStore {
  readonly dialect: StoreDialect;
  readonly tokens: TokenRepository;
  readonly alerts: AlertRepository;
  readonly incidents: IncidentRepository;
  readonly timeline: TimelineRepository;
  readonly runs: RunRepository;
  readonly audit: AuditRepository;
  readonly silences: SilenceRepository;
  readonly quarantines: QuarantineRepository;
  readonly agents: AgentRepository;
  /** Closes the database; the store cannot be used afterwards. */
  close(): Promise<void>;
}
