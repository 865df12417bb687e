import type { RunRepository, RunStep } from '../../store/index.js';
import type { ApprovalDecision, ApprovalPort, ApprovalRequest } from './stepPorts.js';

/** Keys in an `approve` step's stored result. The approval API writes `approval`; the step writes `awaiting`. */
export const APPROVAL_KEYS = { awaiting: 'awaiting', decision: 'approval' } as const;

/** Approvals stored in the result of the run's current step (no table of their own). */
export class RunStepApprovals implements ApprovalPort {
  constructor(private readonly runs: RunRepository) {}

  async request(runId: string, request: ApprovalRequest): Promise<ApprovalRequest> {
    const step = await this.currentStep(runId);
    const earlier = step.result?.[APPROVAL_KEYS.awaiting] as ApprovalRequest | undefined;
    if (earlier !== undefined) return earlier;
    // Re-read right before writing so a decision that arrived meanwhile is kept.
    const fresh = await this.currentStep(runId);
    await this.runs.updateStep(runId, fresh.index, {
      result: { ...(fresh.result ?? {}), [APPROVAL_KEYS.awaiting]: request },
    });
    return request;
  }

  async decision(runId: string): Promise<ApprovalDecision | null> {
    const step = await this.currentStep(runId);
    return (step.result?.[APPROVAL_KEYS.decision] as ApprovalDecision | undefined) ?? null;
  }

  private async currentStep(runId: string): Promise<RunStep> {
    const full = await this.runs.get(runId);
    const step = full?.steps[full.run.currentStep];
    if (full === null || step === undefined) throw new Error(`run ${runId} or its current step is gone`);
    return step;
  }
}
