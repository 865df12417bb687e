import type { Generated } from 'kysely';

// Table shapes as the database sees them: snake_case, JSON as TEXT, timestamps as BIGINT ms.
// Repositories map these to the camelCase domain types in types.ts.

/** api_tokens: hashed API tokens. */
export interface ApiTokensTable {
  id: Generated<number>;
  name: string;
  role: string;
  token_hash: string;
  created_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
}

/** alerts: persisted alert state, one row per rule + label set. */
export interface AlertsTable {
  fingerprint: string;
  rule: string;
  labels: string;
  annotations: string;
  state: string;
  active_at: number;
  fired_at: number | null;
  resolved_at: number | null;
  last_value: number | null;
  updated_at: number;
}

/** incidents. */
export interface IncidentsTable {
  id: Generated<number>;
  key: string;
  title: string;
  severity: string;
  status: string;
  labels: string;
  opened_at: number;
  acknowledged_at: number | null;
  acknowledged_by: string | null;
  resolved_at: number | null;
  escalated_at: number | null;
  updated_at: number;
}

/** incident_timeline. */
export interface IncidentTimelineTable {
  id: Generated<number>;
  incident_id: number;
  at: number;
  kind: string;
  message: string;
  data: string;
}

/** runs: runbook runs. */
export interface RunsTable {
  id: string;
  runbook: string;
  incident_id: number | null;
  target: string;
  status: string;
  trigger: string;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  error: string | null;
  current_step: number;
}

/** run_steps: the steps of each run, keyed by (run_id, step_index). */
export interface RunStepsTable {
  run_id: string;
  step_index: number;
  name: string;
  action: string;
  params: string;
  status: string;
  started_at: number | null;
  ended_at: number | null;
  result: string | null;
  error: string | null;
}

/** audit_log: the hash-chained audit log; seq is assigned by the store under a write lock. */
export interface AuditLogTable {
  seq: number;
  at: number;
  actor: string;
  action: string;
  target: string;
  reason: string | null;
  before: string;
  after: string;
  result: string;
  prev_hash: string;
  hash: string;
}

/** silences: matchers as a JSON list of {name, type, value}. */
export interface SilencesTable {
  id: Generated<number>;
  matchers: string;
  starts_at: number;
  ends_at: number;
  created_by: string;
  comment: string;
  created_at: number;
  expired_at: number | null;
}

/** quarantines: targets left out of automation; target and run_ids as JSON. */
export interface QuarantinesTable {
  id: Generated<number>;
  target_key: string;
  target: string;
  runbook: string;
  reason: string;
  run_ids: string;
  created_at: number;
  released_at: number | null;
  released_by: string | null;
}

/** agent_enrollment_tokens: one-time enrollment secrets (hashed); labels as JSON. */
export interface AgentEnrollmentTokensTable {
  id: Generated<number>;
  token_hash: string;
  created_by: string;
  created_at: number;
  expires_at: number;
  used_at: number | null;
  used_by_agent: number | null;
  labels: string;
}

/** agents: enrolled agents with their hashed credential; labels as JSON. */
export interface AgentsTable {
  id: Generated<number>;
  name: string;
  hostname: string;
  labels: string;
  credential_hash: string;
  created_at: number;
  last_seen_at: number | null;
  revoked_at: number | null;
  revoked_by: string | null;
  version: string | null;
  config_version: string | null;
}

/** The whole state database as Kysely sees it. */
export interface StoreDatabase {
  api_tokens: ApiTokensTable;
  alerts: AlertsTable;
  incidents: IncidentsTable;
  incident_timeline: IncidentTimelineTable;
  runs: RunsTable;
  run_steps: RunStepsTable;
  audit_log: AuditLogTable;
  silences: SilencesTable;
  quarantines: QuarantinesTable;
  agent_enrollment_tokens: AgentEnrollmentTokensTable;
  agents: AgentsTable;
}
