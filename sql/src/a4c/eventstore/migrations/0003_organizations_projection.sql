-- 0003 organizations_projection: one row per organization, kept current by the insert trigger.
--
-- Why in triggers: the read model changes in the same transaction as the event, so a reader never
-- sees an event without its effect. A handler that fails (bad payload, duplicate slug) or an event
-- type nobody handles must not lose the event: the error goes to domain_events.processing_error,
-- the event is stored, and later events still apply. rebuild_organizations_projection() replays the
-- log through the very same handlers, so a rebuild equals the live rows.
--
-- Ordering: appends are serialized (0001), so live application order is sequence order and a
-- replay reproduces it. Handlers still tolerate the orders that really happen: the provisioning
-- service appends temporal_initiated after the workflow start succeeded, so it may follow
-- zitadel.created or even bootstrap.completed. Rows are upserted, a final bootstrap status
-- (completed, failed, cancelled) never changes again, and temporal_initiated only fills gaps.
-- All times come from the events, never from now(), so a rebuild reproduces them exactly.

CREATE TYPE subdomain_status AS ENUM
    ('pending', 'dns_record_created', 'verifying', 'active', 'failed', 'removed');

CREATE TYPE bootstrap_status AS ENUM
    ('initiated', 'running', 'completed', 'failed', 'cancelled');

CREATE TABLE organizations_projection (
    id                    uuid             PRIMARY KEY,
    name                  text,
    slug                  text,
    subdomain_fqdn        text,
    subdomain_status      subdomain_status NOT NULL DEFAULT 'pending',
    dns_record_id         text,
    identity_org_id       text,
    admin_user_id         text,
    admin_email           text,
    workflow_id           text,
    bootstrap_status      bootstrap_status NOT NULL DEFAULT 'initiated',
    current_step          text,
    failed_step           text,
    last_error            text,
    created_at            timestamptz      NOT NULL,
    updated_at            timestamptz      NOT NULL,
    subdomain_verified_at timestamptz,
    last_applied_sequence bigint           NOT NULL,
    CONSTRAINT organizations_projection_slug_key UNIQUE (slug)
);

COMMENT ON COLUMN organizations_projection.current_step IS
    'Event type of the last bootstrap step applied (subdomain events do not change it).';

-- Listing is newest first by (created_at, id), optionally filtered by one status.
CREATE INDEX organizations_projection_created_idx ON organizations_projection (created_at, id);
CREATE INDEX organizations_projection_subdomain_idx
    ON organizations_projection (subdomain_status, created_at, id);
CREATE INDEX organizations_projection_bootstrap_idx
    ON organizations_projection (bootstrap_status, created_at, id);

-- A required, non-empty text key of the payload; its absence is a handler error (SQLSTATE A4C02).
CREATE FUNCTION event_text(e domain_events, key text) RETURNS text
LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
    value text := e.event_data ->> key;
BEGIN
    IF value IS NULL OR btrim(value) = '' THEN
        RAISE EXCEPTION '% requires a non-empty "%" in event_data', e.event_type, key USING ERRCODE = 'A4C02';
    END IF;
    RETURN value;
END
$$;

-- Creates the row on the first event of a stream, in whatever order events come.
CREATE FUNCTION organizations_projection_touch(e domain_events) RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    IF e.stream_type <> 'organization' THEN
        RAISE EXCEPTION '% belongs on an organization stream, not %', e.event_type, e.stream_type
            USING ERRCODE = 'A4C02';
    END IF;
    INSERT INTO organizations_projection AS p (id, created_at, updated_at, last_applied_sequence)
    VALUES (e.stream_id, e.created_at, e.created_at, e.sequence)
    ON CONFLICT (id) DO UPDATE
        SET updated_at = greatest(p.updated_at, EXCLUDED.updated_at),
            last_applied_sequence = EXCLUDED.last_applied_sequence;
END
$$;

CREATE FUNCTION organizations_apply_bootstrap_event(e domain_events) RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    final boolean;
BEGIN
    PERFORM organizations_projection_touch(e);
    SELECT bootstrap_status IN ('completed', 'failed', 'cancelled') INTO final
      FROM organizations_projection WHERE id = e.stream_id;

    CASE e.event_type
    WHEN 'organization.temporal_initiated' THEN
        -- The request as the service saw it: fills what organization.created has not set yet.
        UPDATE organizations_projection
           SET workflow_id = event_text(e, 'workflow_id'),
               admin_email = event_text(e, 'admin_email'),
               name = coalesce(name, event_text(e, 'name')),
               slug = coalesce(slug, event_text(e, 'slug')),
               subdomain_fqdn = coalesce(subdomain_fqdn, event_text(e, 'subdomain_fqdn')),
               current_step = coalesce(current_step, e.event_type)
         WHERE id = e.stream_id;
        RETURN;  -- initiated is the row's default status; never a step backwards
    WHEN 'organization.zitadel.created' THEN
        UPDATE organizations_projection
           SET identity_org_id = event_text(e, 'identity_org_id'),
               admin_user_id = event_text(e, 'admin_user_id')
         WHERE id = e.stream_id;
    WHEN 'organization.created' THEN
        UPDATE organizations_projection
           SET name = event_text(e, 'name'),
               slug = event_text(e, 'slug'),
               subdomain_fqdn = event_text(e, 'subdomain_fqdn')
         WHERE id = e.stream_id;
    WHEN 'user.role.assigned' THEN
        PERFORM event_text(e, 'user_id'), event_text(e, 'grant_id');
        IF jsonb_typeof(e.event_data -> 'role_keys') IS DISTINCT FROM 'array' THEN
            RAISE EXCEPTION 'user.role.assigned requires "role_keys" as an array' USING ERRCODE = 'A4C02';
        END IF;
    WHEN 'user.invitation.sent' THEN
        PERFORM event_text(e, 'user_id'), event_text(e, 'email');
    WHEN 'organization.bootstrap.completed', 'organization.bootstrap.cancelled' THEN
        IF NOT final THEN
            UPDATE organizations_projection
               SET bootstrap_status = CASE e.event_type WHEN 'organization.bootstrap.completed'
                                      THEN 'completed'::bootstrap_status ELSE 'cancelled' END,
                   current_step = e.event_type
             WHERE id = e.stream_id;
        END IF;
        RETURN;
    WHEN 'organization.bootstrap.failed' THEN
        IF NOT final THEN
            UPDATE organizations_projection
               SET bootstrap_status = 'failed', current_step = e.event_type,
                   failed_step = event_text(e, 'failed_step'), last_error = event_text(e, 'error')
             WHERE id = e.stream_id;
        END IF;
        RETURN;
    WHEN 'organization.bootstrap.compensated' THEN
        -- Cleanup after a failure or a cancel: the last step, but never a status of its own.
        UPDATE organizations_projection SET current_step = e.event_type WHERE id = e.stream_id;
        RETURN;
    END CASE;

    -- A step of a bootstrap in progress; after a final status it is a late retry and changes nothing.
    IF NOT final THEN
        UPDATE organizations_projection
           SET bootstrap_status = 'running', current_step = e.event_type
         WHERE id = e.stream_id;
    END IF;
END
$$;

CREATE FUNCTION organizations_apply_subdomain_event(e domain_events) RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    removed boolean;
    record_id text;
BEGIN
    PERFORM organizations_projection_touch(e);
    SELECT subdomain_status = 'removed' INTO removed FROM organizations_projection WHERE id = e.stream_id;

    CASE e.event_type
    WHEN 'organization.subdomain.dns_record_created' THEN
        -- The only way out of removed: a retried subdomain creates a record again.
        UPDATE organizations_projection
           SET subdomain_status = 'dns_record_created',
               dns_record_id = event_text(e, 'dns_record_id'),
               subdomain_fqdn = event_text(e, 'fqdn')
         WHERE id = e.stream_id;
    WHEN 'organization.subdomain.verification_started' THEN
        UPDATE organizations_projection
           SET subdomain_status = 'verifying', subdomain_fqdn = coalesce(subdomain_fqdn, event_text(e, 'fqdn'))
         WHERE id = e.stream_id AND NOT removed;
    WHEN 'organization.subdomain.verified' THEN
        UPDATE organizations_projection
           SET subdomain_status = 'active', subdomain_verified_at = e.created_at,
               subdomain_fqdn = coalesce(subdomain_fqdn, event_text(e, 'fqdn'))
         WHERE id = e.stream_id AND NOT removed;
    WHEN 'organization.subdomain.verification_failed' THEN
        PERFORM event_text(e, 'fqdn');
        UPDATE organizations_projection
           SET subdomain_status = 'failed', last_error = event_text(e, 'error')
         WHERE id = e.stream_id AND NOT removed;
    WHEN 'organization.subdomain.dns_record_deleted' THEN
        -- Deleting an older record than the current one leaves the current one standing.
        record_id := event_text(e, 'dns_record_id');
        UPDATE organizations_projection
           SET subdomain_status = 'removed', dns_record_id = NULL
         WHERE id = e.stream_id AND (dns_record_id IS NULL OR dns_record_id = record_id);
    END CASE;
END
$$;

CREATE FUNCTION project_event(e domain_events) RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    IF e.event_type IN (
        'organization.temporal_initiated', 'organization.zitadel.created', 'organization.created',
        'user.role.assigned', 'user.invitation.sent', 'organization.bootstrap.completed',
        'organization.bootstrap.failed', 'organization.bootstrap.cancelled',
        'organization.bootstrap.compensated') THEN
        PERFORM organizations_apply_bootstrap_event(e);
    ELSIF e.event_type IN (
        'organization.subdomain.dns_record_created', 'organization.subdomain.verification_started',
        'organization.subdomain.verified', 'organization.subdomain.verification_failed',
        'organization.subdomain.dns_record_deleted') THEN
        PERFORM organizations_apply_subdomain_event(e);
    ELSE
        RAISE EXCEPTION 'unknown event type %', e.event_type USING ERRCODE = 'A4C03';
    END IF;
END
$$;

-- The projection's outcome for one event: NULL, or the error text. The EXCEPTION block is a
-- subtransaction, so a failing handler's partial writes are undone and the caller goes on.
CREATE FUNCTION project_event_safely(e domain_events) RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
    message text;
    state text;
BEGIN
    PERFORM project_event(e);
    RETURN NULL;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS message = MESSAGE_TEXT, state = RETURNED_SQLSTATE;
    RETURN format('%s [SQLSTATE %s]', message, state);
END
$$;

CREATE FUNCTION domain_events_project() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    NEW.processing_error := project_event_safely(NEW);
    NEW.processed_at := clock_timestamp();
    RETURN NEW;
END
$$;

-- Fires after dedupe/versioning (10) and before notify (90): trigger names order BEFORE triggers.
CREATE TRIGGER domain_events_50_project
    BEFORE INSERT ON domain_events
    FOR EACH ROW EXECUTE FUNCTION domain_events_project();

-- Truncate-and-replay under the append lock, so no live append interleaves. DELETE rather than
-- TRUNCATE: readers keep seeing the old rows until the rebuild commits instead of blocking.
-- Errors are re-recorded, so an event that failed before a handler fix is cleared by a rebuild.
CREATE FUNCTION rebuild_organizations_projection() RETURNS bigint
LANGUAGE plpgsql
AS $$
DECLARE
    e domain_events;
    error text;
    replayed bigint := 0;
BEGIN
    PERFORM pg_advisory_xact_lock(2636, 1);
    DELETE FROM organizations_projection;
    FOR e IN SELECT * FROM domain_events ORDER BY sequence LOOP
        error := project_event_safely(e);
        IF error IS DISTINCT FROM e.processing_error THEN
            UPDATE domain_events SET processing_error = error, processed_at = clock_timestamp()
             WHERE id = e.id;
        END IF;
        replayed := replayed + 1;
    END LOOP;
    RETURN replayed;
END
$$;

-- Status by primary key: constant time, never a scan of the event log.
CREATE FUNCTION get_bootstrap_status(p_organization_id uuid)
RETURNS TABLE (
    organization_id  uuid,
    bootstrap_status bootstrap_status,
    current_step     text,
    failed_step      text,
    subdomain_status subdomain_status,
    last_error       text,
    updated_at       timestamptz
)
LANGUAGE sql STABLE
AS $$
    SELECT p.id, p.bootstrap_status, p.current_step, p.failed_step, p.subdomain_status, p.last_error,
           p.updated_at
      FROM organizations_projection p
     WHERE p.id = p_organization_id
$$;
