import { randomUUID } from 'node:crypto';
import type { Insertable, Kysely, Selectable, Updateable } from 'kysely';
import { IncidentNotFoundError, RunIdConflictError, StoreInputError } from './errors.js';
import { fromJson, fromJsonOrNull, toJson } from './json.js';
import { asList, checkLimit } from './queryOptions.js';
import type { RunStepsTable, RunsTable, StoreDatabase } from './schema.js';
import { isForeignKeyViolation, isUniqueViolation } from './sqlErrors.js';
import type {
  NewRun,
  NewRunStep,
  Run,
  RunPatch,
  RunRepository,
  RunStatus,
  RunStep,
  RunStepPatch,
  RunWithSteps,
  StepStatus,
} from './types.js';

const UNFINISHED: readonly RunStatus[] = ['pending', 'running', 'parked'];

function toRun(r: Selectable<RunsTable>): Run {
  return {
    id: r.id,
    runbook: r.runbook,
    incidentId: r.incident_id,
    target: fromJson<Record<string, string>>(r.target),
    status: r.status as RunStatus,
    trigger: fromJson<Record<string, unknown>>(r.trigger),
    createdAt: r.created_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    error: r.error,
    currentStep: r.current_step,
  };
}

function toStep(r: Selectable<RunStepsTable>): RunStep {
  return {
    runId: r.run_id,
    index: r.step_index,
    name: r.name,
    action: r.action,
    params: fromJson<Record<string, unknown>>(r.params),
    status: r.status as StepStatus,
    startedAt: r.started_at,
    endedAt: r.ended_at,
    result: fromJsonOrNull<Record<string, unknown>>(r.result),
    error: r.error,
  };
}

function newRunColumns(id: string, run: NewRun): Insertable<RunsTable> {
  return {
    id,
    runbook: run.runbook,
    incident_id: run.incidentId,
    target: toJson(run.target),
    status: run.status ?? 'pending',
    trigger: toJson(run.trigger),
    created_at: run.createdAt,
    started_at: run.startedAt ?? null,
    finished_at: run.finishedAt ?? null,
    error: run.error ?? null,
    current_step: run.currentStep ?? 0,
  };
}

function newStepColumns(runId: string, step: NewRunStep, index: number): Insertable<RunStepsTable> {
  return {
    run_id: runId,
    step_index: index,
    name: step.name,
    action: step.action,
    params: toJson(step.params),
    status: step.status ?? 'pending',
    started_at: step.startedAt ?? null,
    ended_at: step.endedAt ?? null,
    result: step.result === undefined || step.result === null ? null : toJson(step.result),
    error: step.error ?? null,
  };
}

function runPatchColumns(patch: RunPatch): Updateable<RunsTable> {
  const set: Updateable<RunsTable> = {};
  if (patch.status !== undefined) set.status = patch.status;
  if (patch.target !== undefined) set.target = toJson(patch.target);
  if (patch.startedAt !== undefined) set.started_at = patch.startedAt;
  if (patch.finishedAt !== undefined) set.finished_at = patch.finishedAt;
  if (patch.error !== undefined) set.error = patch.error;
  if (patch.currentStep !== undefined) set.current_step = patch.currentStep;
  return set;
}

function stepPatchColumns(patch: RunStepPatch): Updateable<RunStepsTable> {
  const set: Updateable<RunStepsTable> = {};
  if (patch.status !== undefined) set.status = patch.status;
  if (patch.startedAt !== undefined) set.started_at = patch.startedAt;
  if (patch.endedAt !== undefined) set.ended_at = patch.endedAt;
  if (patch.result !== undefined) set.result = patch.result === null ? null : toJson(patch.result);
  if (patch.error !== undefined) set.error = patch.error;
  return set;
}

/** Durable runbook runs in the state database. */
export class KyselyRunRepository implements RunRepository {
  constructor(private readonly db: Kysely<StoreDatabase>) {}

  async create(run: NewRun, steps: readonly NewRunStep[]): Promise<RunWithSteps> {
    const id = run.id ?? randomUUID();
    try {
      return await this.db.transaction().execute(async (trx) => {
        const runRow = await trx
          .insertInto('runs')
          .values(newRunColumns(id, run))
          .returningAll()
          .executeTakeFirstOrThrow();
        const stepRows =
          steps.length === 0
            ? []
            : await trx
                .insertInto('run_steps')
                .values(steps.map((s, i) => newStepColumns(id, s, i)))
                .returningAll()
                .execute();
        stepRows.sort((a, b) => a.step_index - b.step_index);
        return { run: toRun(runRow), steps: stepRows.map(toStep) };
      });
    } catch (error) {
      if (isUniqueViolation(error, 'runs_pkey', 'runs.id')) throw new RunIdConflictError(id);
      if (isForeignKeyViolation(error) && run.incidentId !== null) {
        throw new IncidentNotFoundError('runs.create', run.incidentId);
      }
      throw error;
    }
  }

  async get(id: string): Promise<RunWithSteps | null> {
    const runRow = await this.db.selectFrom('runs').selectAll().where('id', '=', id).executeTakeFirst();
    if (runRow === undefined) return null;
    const stepRows = await this.db
      .selectFrom('run_steps')
      .selectAll()
      .where('run_id', '=', id)
      .orderBy('step_index')
      .execute();
    return { run: toRun(runRow), steps: stepRows.map(toStep) };
  }

  async list(
    options: {
      status?: RunStatus | readonly RunStatus[];
      incidentId?: number;
      since?: number;
      limit?: number;
    } = {},
  ): Promise<Run[]> {
    const limit = checkLimit(options.limit, 50, 'runs.list');
    const since = options.since;
    if (since !== undefined && !Number.isSafeInteger(since)) {
      throw new StoreInputError(
        `runs.list: since ${String(since)} is not a time; give epoch milliseconds as a whole number`,
      );
    }
    const statuses = asList(options.status);
    let query = this.db.selectFrom('runs').selectAll();
    if (statuses !== undefined) {
      if (statuses.length === 0) return [];
      query = query.where('status', 'in', statuses);
    }
    if (options.incidentId !== undefined) query = query.where('incident_id', '=', options.incidentId);
    if (since !== undefined) query = query.where('created_at', '>=', since);
    const rows = await query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
    return rows.map(toRun);
  }

  async listUnfinished(): Promise<Run[]> {
    const rows = await this.db
      .selectFrom('runs')
      .selectAll()
      .where('status', 'in', UNFINISHED)
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    return rows.map(toRun);
  }

  async update(id: string, patch: RunPatch): Promise<Run | null> {
    const set = runPatchColumns(patch);
    if (Object.keys(set).length === 0) return (await this.get(id))?.run ?? null;
    const r = await this.db
      .updateTable('runs')
      .set(set)
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst();
    return r === undefined ? null : toRun(r);
  }

  async appendSteps(runId: string, steps: readonly NewRunStep[]): Promise<RunStep[]> {
    if (steps.length === 0) return [];
    return this.db.transaction().execute(async (trx) => {
      const last = await trx
        .selectFrom('run_steps')
        .select((eb) => eb.fn.max('step_index').as('last'))
        .where('run_id', '=', runId)
        .executeTakeFirst();
      const next = last?.last === null || last?.last === undefined ? 0 : Number(last.last) + 1;
      const rows = await trx
        .insertInto('run_steps')
        .values(steps.map((s, i) => newStepColumns(runId, s, next + i)))
        .returningAll()
        .execute();
      return rows.sort((a, b) => a.step_index - b.step_index).map(toStep);
    });
  }

  async updateStep(runId: string, index: number, patch: RunStepPatch): Promise<RunStep | null> {
    const set = stepPatchColumns(patch);
    const r =
      Object.keys(set).length === 0
        ? await this.db
            .selectFrom('run_steps')
            .selectAll()
            .where('run_id', '=', runId)
            .where('step_index', '=', index)
            .executeTakeFirst()
        : await this.db
            .updateTable('run_steps')
            .set(set)
            .where('run_id', '=', runId)
            .where('step_index', '=', index)
            .returningAll()
            .executeTakeFirst();
    return r === undefined ? null : toStep(r);
  }
}
