/** True when a driver error is a unique or primary-key violation of the named index (either dialect). */
export function isUniqueViolation(error: unknown, indexName: string, sqliteColumns: string): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const e = error as { code?: unknown; constraint?: unknown; message?: unknown };
  // PostgreSQL (pg): SQLSTATE 23505 and the index name.
  if (e.code === '23505') return e.constraint === indexName;
  // SQLite (better-sqlite3) names the columns, not the index: "UNIQUE constraint failed: incidents.key".
  return (
    (e.code === 'SQLITE_CONSTRAINT_UNIQUE' || e.code === 'SQLITE_CONSTRAINT_PRIMARYKEY') &&
    typeof e.message === 'string' &&
    e.message.endsWith(`: ${sqliteColumns}`)
  );
}

/** True when a driver error is a foreign-key violation (either dialect). */
export function isForeignKeyViolation(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const code = (error as { code?: unknown }).code;
  return code === '23503' || code === 'SQLITE_CONSTRAINT_FOREIGNKEY';
}
