-- Listing by status (`incidents list --status NEW`, the dashboard's status filter) orders by
-- event time. The status index held (status, severity_rank), which nothing orders by: SQLite
-- found every incident of the status and sorted them all for a page of 50 (430 ms for 115,680
-- NEW incidents). In listing order it reads the page and stops.
DROP INDEX incidents_by_status;
CREATE INDEX incidents_by_status ON incidents (status, event_time_ms DESC, incident_id DESC);
