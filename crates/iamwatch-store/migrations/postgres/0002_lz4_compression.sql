-- The long text values (raw events, metas, search text, runbooks) compressed with lz4 rather than
-- pglz when PostgreSQL moves them out of line (TOAST): pglz_compress was the server's largest
-- cost in a scan into an empty store. Only values written from now on; where the server has no
-- lz4 (built without it, or before PostgreSQL 14) the columns stay as they are.
DO $$
BEGIN
    EXECUTE 'ALTER TABLE incidents '
        'ALTER COLUMN raw SET COMPRESSION lz4, '
        'ALTER COLUMN meta SET COMPRESSION lz4, '
        'ALTER COLUMN search_text SET COMPRESSION lz4, '
        'ALTER COLUMN runbook SET COMPRESSION lz4';
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'lz4 compression not available, kept pglz: %', SQLERRM;
END
$$;
