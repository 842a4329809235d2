-- 0024: an operator whose page is gone is not left `available` (issue 23's follow-up).
--
-- `seen_at` is when an operator page last held the operator's event stream open: the
-- API writes it when a stream opens and at each keep-alive. When a stream closes, the
-- API waits `operator_away_after_s` and then makes an `available` operator `offline`
-- unless a stream (a reloaded page, perhaps on another API process) has seen them since.
-- NULL: never followed through a stream (an integration that sets statuses itself).
ALTER TABLE operators ADD COLUMN seen_at timestamptz;

-- Operator pages re-read the queue on each NOTIFY: a keep-alive writing `seen_at` must
-- not wake every page of the tenant, so only changes a page shows notify.
DROP TRIGGER operators_notify ON operators;
CREATE TRIGGER operators_notify_insert AFTER INSERT ON operators
    FOR EACH ROW EXECUTE FUNCTION notify_handoffs();
CREATE TRIGGER operators_notify_update AFTER UPDATE ON operators
    FOR EACH ROW WHEN (
        OLD.status IS DISTINCT FROM NEW.status
        OR OLD.queues IS DISTINCT FROM NEW.queues
        OR OLD.name IS DISTINCT FROM NEW.name
    )
    EXECUTE FUNCTION notify_handoffs();
