-- 0015: calls waiting for a media worker with room (activities/placement.py), so a
-- campaign's view can say how many of its calls wait and why. A row is refreshed at
-- every try of the placement (every few seconds) and removed when the call is placed;
-- readers count only rows seen within the last half minute, so an attempt cancelled
-- while it waited stops counting by itself.
CREATE TABLE media_waits (
    call_key     text PRIMARY KEY,
    campaign_id  text NOT NULL,
    since        timestamptz NOT NULL DEFAULT now(),
    seen_at      timestamptz NOT NULL DEFAULT now(),
    reason       text NOT NULL
);

CREATE INDEX media_waits_campaign ON media_waits (campaign_id, seen_at);
