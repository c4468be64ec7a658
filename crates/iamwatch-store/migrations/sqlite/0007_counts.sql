-- What rules with a threshold counted of each event, kept while an event arriving now may still
-- fall within the rule's window with it (see KeptCount in iamwatch-core): a process that starts
-- recalls them and goes on counting. Rows whose window ended long ago are deleted as new ones
-- come.
CREATE TABLE counts (
    rule_id        TEXT NOT NULL,
    event_id       TEXT NOT NULL,
    event_time_ms  INTEGER NOT NULL,
    window_end_ms  INTEGER NOT NULL,
    events         INTEGER NOT NULL,
    window_ms      INTEGER NOT NULL,
    group_key      TEXT,
    distinct_field TEXT,
    distinct_value TEXT,
    step           INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (rule_id, event_id)
) WITHOUT ROWID;
CREATE INDEX counts_by_window_end ON counts (window_end_ms, rule_id, event_id);
