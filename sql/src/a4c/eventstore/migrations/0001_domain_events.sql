-- 0001 domain_events: the append-only event log every read model is built from.
--
-- Why this shape:
-- * id is chosen by the writer (uuid5 of workflow id + step), so a retried activity appends the same
--   id again; the insert trigger turns that into a no-op instead of a second event.
-- * sequence is global and, because appends are serialized (below), commit order equals sequence
--   order: a reader paging by "sequence > last seen" can never skip an event that commits late.
-- * stream_version is unique per stream and assigned here, under the same serialization, as
--   max + 1; a writer may instead pass the version it expects (optimistic concurrency), and a wrong
--   expectation is rejected with SQLSTATE A4C01.
-- * A NOTIFY on channel a4c_domain_events (payload: sequence, stream id, event type) wakes live
--   readers; it is delivered at commit, so only committed events are announced.
-- Plain PostgreSQL >= 15, no extensions, nothing superuser-only: runs on Supabase as is.

CREATE TABLE domain_events (
    id               uuid        PRIMARY KEY,
    sequence         bigint      GENERATED ALWAYS AS IDENTITY,
    stream_id        uuid        NOT NULL,
    stream_type      text        NOT NULL,
    stream_version   integer     NOT NULL,
    event_type       text        NOT NULL,
    event_data       jsonb       NOT NULL DEFAULT '{}'::jsonb,
    event_metadata   jsonb       NOT NULL DEFAULT '{}'::jsonb,
    created_at       timestamptz NOT NULL DEFAULT now(),
    processed_at     timestamptz,
    processing_error text,
    CONSTRAINT domain_events_sequence_key UNIQUE (sequence),
    CONSTRAINT domain_events_stream_version_key UNIQUE (stream_id, stream_version),
    CONSTRAINT domain_events_stream_version_positive CHECK (stream_version > 0),
    CONSTRAINT domain_events_stream_type_format CHECK (stream_type ~ '^[a-z][a-z0-9_]*$'),
    CONSTRAINT domain_events_event_type_format
        CHECK (event_type ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$'),
    CONSTRAINT domain_events_data_is_object CHECK (jsonb_typeof(event_data) = 'object'),
    CONSTRAINT domain_events_metadata_is_object CHECK (jsonb_typeof(event_metadata) = 'object')
);

COMMENT ON TABLE domain_events IS
    'Append-only event log. Write through a4c.eventstore (or plain INSERT): triggers deduplicate by id, '
    'assign stream_version, update projections and NOTIFY a4c_domain_events.';

-- Stream reads use the unique (stream_id, stream_version) index; these cover the other readers.
CREATE INDEX domain_events_event_type_idx ON domain_events (event_type, sequence);
CREATE INDEX domain_events_stream_sequence_idx ON domain_events (stream_id, sequence);
CREATE INDEX domain_events_needs_attention_idx ON domain_events (sequence)
    WHERE processed_at IS NULL OR processing_error IS NOT NULL;

-- One append at a time, database-wide. Taken per statement, before any row's identity default is
-- evaluated, so sequence numbers are handed out in the order transactions will commit (the lock is
-- released only after the commit is visible). Appends are single short statements, so the cost is a
-- ceiling of some thousand appends per second, far above what provisioning produces.
-- Lock key (2636, 1) = (0x0A4C, appends); the migration runner uses (2636, 2).
CREATE FUNCTION domain_events_serialize_appends() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(2636, 1);
    RETURN NULL;
END
$$;

CREATE TRIGGER domain_events_00_serialize
    BEFORE INSERT ON domain_events
    FOR EACH STATEMENT EXECUTE FUNCTION domain_events_serialize_appends();

-- Idempotency and versioning, row by row (later rows of one statement see the earlier ones).
-- Returning NULL skips the row and every later BEFORE trigger: a replayed id changes nothing.
CREATE FUNCTION domain_events_dedupe_and_version() RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
    current_version integer;
BEGIN
    IF EXISTS (SELECT 1 FROM domain_events WHERE id = NEW.id) THEN
        RETURN NULL;
    END IF;
    SELECT coalesce(max(stream_version), 0) INTO current_version
      FROM domain_events WHERE stream_id = NEW.stream_id;
    IF NEW.stream_version IS NULL THEN
        NEW.stream_version := current_version + 1;
    ELSIF NEW.stream_version <> current_version + 1 THEN
        RAISE EXCEPTION 'stream % is at version %, not %', NEW.stream_id, current_version, NEW.stream_version - 1
            USING ERRCODE = 'A4C01', HINT = 'read the stream again and retry';
    END IF;
    NEW.processed_at := NULL;
    NEW.processing_error := NULL;
    RETURN NEW;
END
$$;

CREATE TRIGGER domain_events_10_dedupe_and_version
    BEFORE INSERT ON domain_events
    FOR EACH ROW EXECUTE FUNCTION domain_events_dedupe_and_version();

CREATE FUNCTION domain_events_notify() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM pg_notify('a4c_domain_events', json_build_object(
        'sequence', NEW.sequence, 'stream_id', NEW.stream_id, 'event_type', NEW.event_type)::text);
    RETURN NEW;
END
$$;

CREATE TRIGGER domain_events_90_notify
    BEFORE INSERT ON domain_events
    FOR EACH ROW EXECUTE FUNCTION domain_events_notify();
