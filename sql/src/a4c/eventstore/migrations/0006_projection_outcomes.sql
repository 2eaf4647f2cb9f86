-- 0006 projection outcomes: the database alone decides what each event did to its organization.
--
-- Why: WatchBootstrap reports the bootstrap and subdomain status *after each event*, and GetBootstrap
-- a bootstrap's steps when its workflow can no longer answer; both were recomputed in the provisioning
-- service by Python copies of 0003/0005's rules, which had to be changed in step with them. Now:
-- * every event row records the statuses its organization had once the event was applied
--   (domain_events.bootstrap_status / subdomain_status), by the same trigger, in the same transaction;
-- * organization_steps is a projection of the bootstrap's steps (state, start, end, error), driven by
--   bootstrap_steps, the workflow's steps in order with the events that end them and the compensations
--   that undo them (their names are a4c.workflows.BootstrapStep / Compensation; a test compares);
-- * event_types lists every event type the projection handles (a4c.eventstore.EventType; a test
--   compares) and project_event dispatches through it instead of through literal lists.
-- An event whose handler fails changes nothing, so its row records the statuses from before it.
-- The file ends with a rebuild, which fills the new columns and tables for the events already stored.

CREATE TYPE step_state AS ENUM ('pending', 'running', 'completed', 'failed', 'compensated');

ALTER TABLE domain_events
    ADD COLUMN bootstrap_status bootstrap_status,
    ADD COLUMN subdomain_status subdomain_status;

COMMENT ON COLUMN domain_events.bootstrap_status IS
    'The organization''s bootstrap status once this event was applied (set by the projection trigger).';
COMMENT ON COLUMN domain_events.subdomain_status IS
    'The organization''s subdomain status once this event was applied (set by the projection trigger).';

CREATE TABLE event_types (
    event_type text PRIMARY KEY,
    -- Which handler applies it: the bootstrap's (parent workflow, service) or the subdomain's (child).
    handler    text NOT NULL CHECK (handler IN ('bootstrap', 'subdomain'))
);

INSERT INTO event_types (event_type, handler) VALUES
    ('organization.bootstrap.temporal_initiated', 'bootstrap'),
    ('organization.zitadel.created', 'bootstrap'),
    ('organization.created', 'bootstrap'),
    ('user.role.assigned', 'bootstrap'),
    ('user.invitation.sent', 'bootstrap'),
    ('organization.bootstrap.completed', 'bootstrap'),
    ('organization.bootstrap.failed', 'bootstrap'),
    ('organization.bootstrap.cancelled', 'bootstrap'),
    ('organization.bootstrap.compensated', 'bootstrap'),
    ('organization.subdomain.dns_record_created', 'subdomain'),
    ('organization.subdomain.verification_started', 'subdomain'),
    ('organization.subdomain.verified', 'subdomain'),
    ('organization.subdomain.verification_failed', 'subdomain'),
    ('organization.subdomain.dns_record_deleted', 'subdomain');

CREATE TABLE bootstrap_steps (
    position   smallint PRIMARY KEY,
    name       text     NOT NULL UNIQUE,
    -- The events that prove the step done. start_subdomain's are its child's: they show that the child
    -- started but not when the parent went on, so they do not start the clock of the next step.
    ended_by   text[]   NOT NULL,
    child      boolean  NOT NULL DEFAULT false,
    undone_by  text     UNIQUE  -- the compensation (a failure event's "cleanup" entry) that undoes it
);

INSERT INTO bootstrap_steps (position, name, ended_by, child, undone_by) VALUES
    (1, 'create_identity_organization', '{organization.zitadel.created}', false, 'delete_identity_organization'),
    (2, 'record_organization', '{organization.created}', false, NULL),
    (3, 'start_subdomain', '{organization.subdomain.dns_record_created,organization.subdomain.verification_started,'
        'organization.subdomain.verified,organization.subdomain.verification_failed,'
        'organization.subdomain.dns_record_deleted}', true, 'remove_dns_record'),
    (4, 'grant_admin_role', '{user.role.assigned}', false, NULL),
    (5, 'send_admin_invitation', '{user.invitation.sent}', false, NULL),
    (6, 'complete', '{organization.bootstrap.completed}', false, NULL);

-- Where the step fold stands: the furthest step an event ended, and when the last step the bootstrap
-- itself ended did (the start of the one after it).
ALTER TABLE organizations_projection
    ADD COLUMN steps_reached  smallint NOT NULL DEFAULT 0,
    ADD COLUMN steps_last_end timestamptz;

-- Only steps that left pending have a row; get_bootstrap_steps fills in the others.
CREATE TABLE organization_steps (
    organization_id uuid       NOT NULL REFERENCES organizations_projection (id) ON DELETE CASCADE,
    position        smallint   NOT NULL REFERENCES bootstrap_steps (position),
    state           step_state NOT NULL,
    started_at      timestamptz,
    finished_at     timestamptz,
    error           text       NOT NULL DEFAULT '',
    PRIMARY KEY (organization_id, position)
);

-- A step that is still pending (no row) becomes `state`; one that has moved on keeps its row.
CREATE FUNCTION organization_steps_settle(
    e domain_events, p organizations_projection, first_position integer, last_position integer,
    new_state step_state, new_error text DEFAULT '')
RETURNS void
LANGUAGE sql
AS $$
    INSERT INTO organization_steps (organization_id, position, state, started_at, finished_at, error)
    SELECT e.stream_id, s.position, new_state, p.steps_last_end, e.created_at, new_error
      FROM bootstrap_steps s
     WHERE s.position BETWEEN first_position AND last_position
    ON CONFLICT DO NOTHING
$$;

-- The cleanup entries of a failed/compensated event mark the completed steps they undid.
CREATE FUNCTION organization_steps_compensate(e domain_events) RETURNS void
LANGUAGE sql
AS $$
    UPDATE organization_steps o
       SET state = 'compensated'
      FROM bootstrap_steps s
     WHERE o.organization_id = e.stream_id AND o.position = s.position AND o.state = 'completed'
       AND jsonb_typeof(e.event_data -> 'cleanup') = 'array'
       AND s.undone_by IN (SELECT jsonb_array_elements_text(e.event_data -> 'cleanup'))
$$;

-- Steps follow every event, final bootstrap or not: a late step still proves that it ran.
CREATE FUNCTION organizations_apply_step_event(e domain_events) RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    p organizations_projection;
    ended bootstrap_steps;
    reason text := coalesce(e.event_data ->> 'reason', '');
BEGIN
    SELECT * INTO p FROM organizations_projection WHERE id = e.stream_id;
    SELECT * INTO ended FROM bootstrap_steps WHERE e.event_type = ANY (ended_by);
    IF FOUND THEN
        PERFORM organization_steps_settle(e, p, p.steps_reached + 1, ended.position, 'completed');
        UPDATE organizations_projection
           SET steps_reached = greatest(steps_reached, ended.position),
               steps_last_end = CASE WHEN ended.child THEN steps_last_end ELSE e.created_at END
         WHERE id = e.stream_id;
        RETURN;
    END IF;
    CASE e.event_type
    WHEN 'organization.bootstrap.temporal_initiated' THEN
        -- The first step started when the service started the workflow, unless a step ended already.
        UPDATE organizations_projection SET steps_last_end = coalesce(steps_last_end, e.created_at)
         WHERE id = e.stream_id;
    WHEN 'organization.bootstrap.failed' THEN
        PERFORM organization_steps_settle(e, p, s.position, s.position, 'failed',
                                          coalesce(e.event_data ->> 'error', ''))
           FROM bootstrap_steps s WHERE s.name = e.event_data ->> 'failed_step';
        PERFORM organization_steps_compensate(e);
    WHEN 'organization.bootstrap.cancelled' THEN
        -- The step after the last one that ended was the one in flight.
        PERFORM organization_steps_settle(e, p, p.steps_reached + 1, p.steps_reached + 1, 'failed',
                                          CASE WHEN reason = '' THEN 'cancelled' ELSE 'cancelled: ' || reason END);
    WHEN 'organization.bootstrap.compensated' THEN
        PERFORM organization_steps_compensate(e);
    ELSE
        NULL;  -- the other events end no step
    END CASE;
END
$$;

CREATE OR REPLACE FUNCTION project_event(e domain_events) RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    kind text;
BEGIN
    SELECT handler INTO kind FROM event_types WHERE event_type = e.event_type;
    IF kind = 'bootstrap' THEN
        PERFORM organizations_apply_bootstrap_event(e);
    ELSIF kind = 'subdomain' THEN
        PERFORM organizations_apply_subdomain_event(e);
    ELSE
        RAISE EXCEPTION 'unknown event type %', e.event_type USING ERRCODE = 'A4C03';
    END IF;
    PERFORM organizations_apply_step_event(e);
END
$$;

-- What applying one event did: its error (NULL when none) and the organization's statuses after it
-- (the defaults of a new row when the event could not create one).
CREATE FUNCTION project_event_outcome(
    e domain_events, OUT error text, OUT bootstrap bootstrap_status, OUT subdomain subdomain_status)
LANGUAGE plpgsql
AS $$
BEGIN
    error := project_event_safely(e);
    SELECT p.bootstrap_status, p.subdomain_status INTO bootstrap, subdomain
      FROM organizations_projection p WHERE p.id = e.stream_id;
    bootstrap := coalesce(bootstrap, 'initiated');
    subdomain := coalesce(subdomain, 'pending');
END
$$;

CREATE OR REPLACE FUNCTION domain_events_project() RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
    outcome record;
BEGIN
    SELECT * INTO outcome FROM project_event_outcome(NEW);
    NEW.processing_error := outcome.error;
    NEW.bootstrap_status := outcome.bootstrap;
    NEW.subdomain_status := outcome.subdomain;
    NEW.processed_at := clock_timestamp();
    RETURN NEW;
END
$$;

-- Replays one stored event during a rebuild; its row is rewritten only when the outcome changed.
CREATE FUNCTION domain_events_replay(e domain_events) RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    outcome record;
BEGIN
    SELECT * INTO outcome FROM project_event_outcome(e);
    UPDATE domain_events
       SET processing_error = outcome.error, bootstrap_status = outcome.bootstrap,
           subdomain_status = outcome.subdomain, processed_at = clock_timestamp()
     WHERE id = e.id
       AND (processing_error, bootstrap_status, subdomain_status)
           IS DISTINCT FROM (outcome.error, outcome.bootstrap, outcome.subdomain);
END
$$;

-- 0003's rebuild, now through domain_events_replay: under the append lock (no append interleaves, so
-- the count is the number replayed), DELETE rather than TRUNCATE (readers keep the old rows until
-- the commit; the steps go with their organizations).
CREATE OR REPLACE FUNCTION rebuild_organizations_projection() RETURNS bigint
LANGUAGE plpgsql
AS $$
DECLARE
    stored domain_events;
BEGIN
    PERFORM pg_advisory_xact_lock(2636, 1);
    DELETE FROM organizations_projection;
    FOR stored IN SELECT * FROM domain_events ORDER BY sequence LOOP
        PERFORM domain_events_replay(stored);
    END LOOP;
    RETURN (SELECT count(*) FROM domain_events);
END
$$;

-- Every step of a bootstrap in workflow order, pending where nothing has happened yet.
CREATE FUNCTION get_bootstrap_steps(p_organization_id uuid)
RETURNS TABLE (name text, state step_state, started_at timestamptz, finished_at timestamptz, error text)
LANGUAGE sql STABLE
AS $$
    SELECT s.name, coalesce(o.state, 'pending'), o.started_at, o.finished_at, coalesce(o.error, '')
      FROM bootstrap_steps s
      LEFT JOIN organization_steps o ON o.position = s.position AND o.organization_id = p_organization_id
     ORDER BY s.position
$$;

-- The projection's current_step (the event type of the last bootstrap event) as a step name: the
-- step that event ended, the failed step, or the outcome ('cancelled', 'compensated'); '' before any.
CREATE FUNCTION bootstrap_step_name(p_current_step text, p_failed_step text) RETURNS text
LANGUAGE sql STABLE
AS $$
    SELECT CASE p_current_step
        WHEN 'organization.bootstrap.failed' THEN coalesce(nullif(p_failed_step, ''), 'failed')
        WHEN 'organization.bootstrap.temporal_initiated' THEN ''
        WHEN 'organization.bootstrap.cancelled' THEN 'cancelled'
        WHEN 'organization.bootstrap.compensated' THEN 'compensated'
        ELSE coalesce(
            (SELECT s.name FROM bootstrap_steps s WHERE NOT s.child AND p_current_step = ANY (s.ended_by)),
            p_current_step, '')
    END
$$;

SELECT rebuild_organizations_projection();
