import type { HostControl } from '../hostControl.js';
import type { CommandControl } from './commandControl.js';

/** A human's answer to an `approve` step. */
export interface ApprovalDecision {
  readonly decision: 'approved' | 'rejected';
  readonly by: string;
  readonly comment: string | null;
  readonly at: number;
}

/** What an `approve` step asked for, kept in the step's result so it survives a restart. */
export interface ApprovalRequest {
  readonly prompt: string;
  readonly requestedAt: number;
}

/** Durable approvals for `approve` steps, kept with the run's current step. */
export interface ApprovalPort {
  /** Records that the run's current step waits for a human; returns the first request if one exists. */
  request(runId: string, request: ApprovalRequest): Promise<ApprovalRequest>;
  /** The decision on the run's current step, or null while nobody has decided. */
  decision(runId: string): Promise<ApprovalDecision | null>;
}

/** A message a run sends to people through the configured notification channels. */
export interface StepNotice {
  readonly runId: string;
  readonly runbook: string;
  readonly message: string;
  /** `high` pages (escalates the run's incident); `low` informs. */
  readonly urgency: 'low' | 'high';
}

/** Sends run notices through the notification channels. */
export interface StepNotifier {
  notify(notice: StepNotice): Promise<{ ok: true; detail: string } | { ok: false; error: string }>;
}

/**
 * Ports the newer steps use. Optional so a composition root that does not wire one still runs every
 * other step; a step whose port is missing fails with a message that says so.
 */
export interface StepExtensions {
  readonly notifications?: StepNotifier;
  readonly commands?: CommandControl;
  readonly hosts?: HostControl;
  readonly approvals?: ApprovalPort;
}
