import { ConflictError, InputError, NotFoundError, SwasError } from '../core/index.js';

/** `store.url` cannot be used (SWAS-STORE-001): a configuration error, fixed by editing swas.yaml. */
export class StoreUrlError extends InputError {
  constructor(message: string) {
    super('SWAS-STORE-001', message);
  }
}

/** The database could not be opened or reached (SWAS-STORE-002): an operational error. */
export class StoreUnavailableError extends SwasError {
  constructor(message: string, cause: unknown) {
    super('SWAS-STORE-002', message, { cause });
  }
}

/** The schema could not be brought up to date (SWAS-STORE-003). */
export class StoreMigrationError extends SwasError {
  constructor(message: string, cause: unknown) {
    super('SWAS-STORE-003', message, { cause });
  }
}

/** An unresolved incident with this grouping key already exists (SWAS-STORE-004). */
export class IncidentKeyConflictError extends ConflictError {
  readonly key: string;
  constructor(key: string) {
    super(
      'SWAS-STORE-004',
      `an unresolved incident with key ${JSON.stringify(key)} already exists; ` +
        'use incidents.findOpenByKey to add to it, or resolve it before opening another',
    );
    this.key = key;
  }
}

/** A repository was given invalid input, such as a bad list limit (SWAS-STORE-005). */
export class StoreInputError extends InputError {
  constructor(message: string) {
    super('SWAS-STORE-005', message);
  }
}

/** A row refers to an incident that does not exist (SWAS-STORE-006). */
export class IncidentNotFoundError extends NotFoundError {
  readonly incidentId: number;
  constructor(where: string, incidentId: number) {
    super(
      'SWAS-STORE-006',
      `${where}: incident ${incidentId} does not exist; open the incident first or pass a valid incident id`,
    );
    this.incidentId = incidentId;
  }
}

/** A run with this id already exists (SWAS-STORE-007). */
export class RunIdConflictError extends ConflictError {
  constructor(id: string) {
    super(
      'SWAS-STORE-007',
      `runs.create: a run with id ${JSON.stringify(id)} already exists; omit id to get a fresh one`,
    );
  }
}
