-- 0008: what retention's purge needs to find its rows without scanning whole tables.

-- Soft-deleted calls, by when they were deleted (few rows: a partial index).
CREATE INDEX calls_deleted_at ON calls (deleted_at) WHERE deleted_at IS NOT NULL;

-- Live events by age: the purge prunes those older than retention_live_events_days
-- (default 30) from the largest table of all, a range at its old end.
CREATE INDEX live_call_events_created ON live_call_events (created_at);
