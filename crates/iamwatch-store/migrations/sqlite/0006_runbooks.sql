-- A rule's runbook is the same in every incident the rule raises, and it was a quarter of
-- each incident's meta text (DB 209 MB for 115,680 incidents, meta 106 MB of it). Each
-- runbook is kept once here, as JSON text, and an incident refers to it; the meta of an
-- incident stored from now on is kept without it (see sqlite/rows.rs). Incidents stored
-- before keep theirs inside their meta, with no reference.
CREATE TABLE runbooks (
    id      INTEGER PRIMARY KEY,
    runbook TEXT NOT NULL UNIQUE
);
ALTER TABLE incidents ADD COLUMN runbook_id INTEGER REFERENCES runbooks (id);
