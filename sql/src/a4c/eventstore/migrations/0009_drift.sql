-- 0009 drift: what the scheduled reconciler (issue 18) finds, projected.
--
-- Why: the reconciler compares every active organization with Cloudflare and Zitadel and records what
-- it finds as events on the organization's stream. The read model must show it: a subdomain whose name
-- is now held by a record we do not own is `drifted` (never overwritten, so it stays drifted until an
-- operator acts or the foreign record goes and the reconciler restores ours), and an identity
-- organization deleted or deactivated out of band shows in identity_status (no auto-repair: a new
-- Zitadel organization would have new users and no invitation). A restored record makes the subdomain
-- active again with the record's new id. Orphans (owned records or marked Zitadel organizations with no
-- live organization) are reported on the owner's stream but change no row: there is nothing live to
-- change, and an orphan's owner may never have had a row at all.
--
-- The new value 'drifted' is only referenced inside function bodies (evaluated when they run), so it
-- may be added in the same transaction; no stored event needs a rebuild (none of these types existed).

ALTER TYPE subdomain_status ADD VALUE IF NOT EXISTS 'drifted';

ALTER TABLE organizations_projection
    ADD COLUMN identity_status text NOT NULL DEFAULT 'active'
        CHECK (identity_status IN ('active', 'missing', 'deactivated'));

COMMENT ON COLUMN organizations_projection.identity_status IS
    'The identity organization as the reconciler last saw it: active, missing (deleted out of band) or deactivated.';

ALTER TABLE event_types DROP CONSTRAINT event_types_handler_check;
ALTER TABLE event_types ADD CONSTRAINT event_types_handler_check
    CHECK (handler IN ('bootstrap', 'subdomain', 'lifecycle', 'drift'));

INSERT INTO event_types (event_type, handler) VALUES
    ('organization.subdomain.drift_detected', 'drift'),
    ('organization.subdomain.drift_repaired', 'drift'),
    ('organization.identity.drift_detected', 'drift'),
    ('organization.subdomain.orphan_detected', 'drift'),
    ('organization.identity.orphan_detected', 'drift');

-- Drift events only update an existing row: they never create an organization.
CREATE FUNCTION organizations_apply_drift_event(e domain_events) RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    identity_state text;
BEGIN
    IF e.stream_type <> 'organization' THEN
        RAISE EXCEPTION '% belongs on an organization stream, not %', e.event_type, e.stream_type
            USING ERRCODE = 'A4C02';
    END IF;
    CASE e.event_type
    WHEN 'organization.subdomain.drift_detected' THEN
        PERFORM event_text(e, 'fqdn');
        UPDATE organizations_projection
           SET subdomain_status = 'drifted', last_error = coalesce(e.event_data ->> 'reason', last_error),
               updated_at = greatest(updated_at, e.created_at), last_applied_sequence = e.sequence
         WHERE id = e.stream_id;
    WHEN 'organization.subdomain.drift_repaired' THEN
        UPDATE organizations_projection
           SET subdomain_status = 'active', dns_record_id = event_text(e, 'dns_record_id'),
               updated_at = greatest(updated_at, e.created_at), last_applied_sequence = e.sequence
         WHERE id = e.stream_id;
    WHEN 'organization.identity.drift_detected' THEN
        identity_state := event_text(e, 'state');
        IF identity_state NOT IN ('missing', 'deactivated') THEN
            RAISE EXCEPTION '% requires "state" missing or deactivated', e.event_type USING ERRCODE = 'A4C02';
        END IF;
        UPDATE organizations_projection
           SET identity_status = identity_state,
               updated_at = greatest(updated_at, e.created_at), last_applied_sequence = e.sequence
         WHERE id = e.stream_id;
    ELSE
        NULL;  -- orphans: reported, nothing live to change
    END CASE;
END
$$;

-- 0007's dispatch with the drift handler added.
CREATE OR REPLACE FUNCTION project_event(e domain_events) RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    kind text;
BEGIN
    SELECT handler INTO kind FROM event_types WHERE event_type = e.event_type;
    IF kind = 'bootstrap' THEN
        PERFORM organizations_apply_bootstrap_event(e);
        PERFORM organizations_apply_slug_release(e);
    ELSIF kind = 'subdomain' THEN
        PERFORM organizations_apply_subdomain_event(e);
    ELSIF kind = 'lifecycle' THEN
        PERFORM organizations_apply_lifecycle_event(e);
    ELSIF kind = 'drift' THEN
        PERFORM organizations_apply_drift_event(e);
    ELSE
        RAISE EXCEPTION 'unknown event type %', e.event_type USING ERRCODE = 'A4C03';
    END IF;
    PERFORM organizations_apply_step_event(e);
END
$$;
