-- 0007 tenant lifecycle: offboarding, a lifecycle status, and slugs that can be bootstrapped again.
--
-- Why: an organization could be created but never removed, and its slug was held for ever (0003's
-- unique slug, 0004's confirmed claims). Now:
-- * OffboardOrganizationWorkflow records every step on the organization's stream (the
--   organization.offboarding.* events and organization.offboarded, handler 'lifecycle'); the
--   projection gains lifecycle_status: active → offboarding → offboarded, or back to active when
--   an operator cancels during the grace period. The drift reconciler looks at active ones only.
-- * An organization releases its slug when it is offboarded, or when its bootstrap failed or was
--   cancelled and compensation completed (organization.bootstrap.compensated): slug_released_at.
--   The row, its events and its audit trail stay, readable by organization id.
-- * A released slug can be claimed by a new organization: claim_slug (5 arguments) first drops a
--   claim whose organization released the slug, after a quarantine for an offboarded one (the
--   provisioning service's setting, passed in). slug_holder() is the one rule of who holds a slug
--   now; the worker's first-step check asks it too, so the service and the worker agree.
-- * The projection's slug is unique among organizations that still hold it (a partial index
--   instead of 0003's constraint), so the new organization's row can carry the old one's slug.
-- The 4-argument claim_slug of 0004 stays for the previous release's replicas during an upgrade.

CREATE TYPE lifecycle_status AS ENUM ('active', 'offboarding', 'offboarded');

ALTER TABLE organizations_projection
    ADD COLUMN lifecycle_status       lifecycle_status NOT NULL DEFAULT 'active',
    ADD COLUMN offboarding_reason     text,
    ADD COLUMN offboarding_started_at timestamptz,
    ADD COLUMN offboarded_at          timestamptz,
    ADD COLUMN slug_released_at       timestamptz;

COMMENT ON COLUMN organizations_projection.slug_released_at IS
    'When the organization gave up its slug (offboarded, or bootstrap compensated); NULL while it holds it.';

CREATE INDEX organizations_projection_lifecycle_idx
    ON organizations_projection (lifecycle_status, created_at, id);

ALTER TABLE organizations_projection DROP CONSTRAINT organizations_projection_slug_key;
CREATE UNIQUE INDEX organizations_projection_held_slug_key
    ON organizations_projection (slug) WHERE slug_released_at IS NULL;

ALTER TABLE event_types DROP CONSTRAINT event_types_handler_check;
ALTER TABLE event_types ADD CONSTRAINT event_types_handler_check
    CHECK (handler IN ('bootstrap', 'subdomain', 'lifecycle'));

INSERT INTO event_types (event_type, handler) VALUES
    ('organization.offboarding.started', 'lifecycle'),
    ('organization.offboarding.subdomain_stopped', 'lifecycle'),
    ('organization.offboarding.dns_records_removed', 'lifecycle'),
    ('organization.offboarding.identity_deactivated', 'lifecycle'),
    ('organization.offboarding.deletion_started', 'lifecycle'),
    ('organization.offboarding.identity_deleted', 'lifecycle'),
    ('organization.offboarded', 'lifecycle'),
    ('organization.offboarding.cancelled', 'lifecycle'),
    ('organization.offboarding.identity_reactivated', 'lifecycle');

CREATE FUNCTION organizations_apply_lifecycle_event(e domain_events) RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM organizations_projection_touch(e);
    CASE e.event_type
    WHEN 'organization.offboarding.started' THEN
        UPDATE organizations_projection
           SET lifecycle_status = 'offboarding', offboarding_reason = event_text(e, 'reason'),
               offboarding_started_at = e.created_at
         WHERE id = e.stream_id AND lifecycle_status <> 'offboarded';
    WHEN 'organization.offboarding.dns_records_removed' THEN
        -- What was actually removed, possibly nothing: no record of the organization is left.
        PERFORM event_text(e, 'fqdn');
        IF jsonb_typeof(e.event_data -> 'dns_record_ids') IS DISTINCT FROM 'array' THEN
            RAISE EXCEPTION '% requires "dns_record_ids" as an array', e.event_type USING ERRCODE = 'A4C02';
        END IF;
        UPDATE organizations_projection SET subdomain_status = 'removed', dns_record_id = NULL
         WHERE id = e.stream_id;
    WHEN 'organization.offboarding.cancelled' THEN
        UPDATE organizations_projection
           SET lifecycle_status = 'active', offboarding_reason = NULL, offboarding_started_at = NULL
         WHERE id = e.stream_id AND lifecycle_status = 'offboarding';
    WHEN 'organization.offboarded' THEN
        UPDATE organizations_projection
           SET lifecycle_status = 'offboarded', offboarded_at = e.created_at,
               slug_released_at = coalesce(slug_released_at, e.created_at)
         WHERE id = e.stream_id;
    ELSE
        NULL;  -- the other steps (stopped, deactivated, deletion started, deleted, reactivated) are a record only
    END CASE;
END
$$;

-- A bootstrap that failed or was cancelled and whose compensation completed leaves nothing behind:
-- its slug is free at once (there is nothing to quarantine).
CREATE FUNCTION organizations_apply_slug_release(e domain_events) RETURNS void
LANGUAGE sql
AS $$
    UPDATE organizations_projection
       SET slug_released_at = coalesce(slug_released_at, e.created_at)
     WHERE id = e.stream_id AND e.event_type = 'organization.bootstrap.compensated'
       AND bootstrap_status IN ('failed', 'cancelled')
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
        PERFORM organizations_apply_slug_release(e);
    ELSIF kind = 'subdomain' THEN
        PERFORM organizations_apply_subdomain_event(e);
    ELSIF kind = 'lifecycle' THEN
        PERFORM organizations_apply_lifecycle_event(e);
    ELSE
        RAISE EXCEPTION 'unknown event type %', e.event_type USING ERRCODE = 'A4C03';
    END IF;
    PERFORM organizations_apply_step_event(e);
END
$$;

-- Whether the organization has given up its slug for good: released, and for an offboarded one
-- p_quarantine_seconds ago (a compensated bootstrap has no quarantine).
CREATE FUNCTION organization_released_slug(p_organization_id uuid, p_quarantine_seconds double precision)
RETURNS boolean
LANGUAGE sql STABLE
AS $$
    SELECT coalesce((
        SELECT p.slug_released_at IS NOT NULL
               AND (p.lifecycle_status <> 'offboarded'
                    OR p.slug_released_at <= clock_timestamp() - make_interval(secs => p_quarantine_seconds))
          FROM organizations_projection p WHERE p.id = p_organization_id), false)
$$;

-- Who holds p_slug now (NULL: nobody): its claim's organization, else (an organization recorded
-- without a claim) the projection row that has not released it. A released slug whose claim is
-- still there (in quarantine, or nobody claimed it since) stays with that claim until claim_slug
-- takes it over; the worker refuses a bootstrap for a slug another organization holds.
CREATE FUNCTION slug_holder(p_slug text) RETURNS uuid
LANGUAGE sql STABLE
AS $$
    SELECT coalesce(
        (SELECT c.organization_id FROM slug_claims c WHERE c.slug = p_slug),
        (SELECT p.id FROM organizations_projection p
          WHERE p.slug = p_slug AND p.slug_released_at IS NULL
          ORDER BY p.created_at DESC LIMIT 1))
$$;

-- 0004's claim_slug, after taking the slug back from an organization that released it (and, when
-- offboarded, whose quarantine is over). The same organization asking again keeps its claim.
CREATE FUNCTION claim_slug(
    p_slug text, p_organization_id uuid, p_request_id text, p_fingerprint text,
    p_quarantine_seconds double precision)
RETURNS TABLE (slug text, organization_id uuid, request_id text, fingerprint text, confirmed boolean,
               age_seconds double precision, created boolean)
LANGUAGE plpgsql
AS $$
#variable_conflict use_column
BEGIN
    DELETE FROM slug_claims c
     WHERE c.slug = p_slug AND c.organization_id <> p_organization_id
       AND organization_released_slug(c.organization_id, p_quarantine_seconds);

    RETURN QUERY
        SELECT p.slug, p.id, NULL::text, NULL::text, true, 0::double precision, false
          FROM organizations_projection p
         WHERE p.slug = p_slug AND p.id <> p_organization_id
           AND NOT organization_released_slug(p.id, p_quarantine_seconds)
           AND NOT EXISTS (SELECT 1 FROM slug_claims c WHERE c.slug = p_slug)
         ORDER BY p.created_at DESC
         LIMIT 1;
    IF FOUND THEN
        RETURN;
    END IF;

    RETURN QUERY
        INSERT INTO slug_claims AS c (slug, organization_id, request_id, fingerprint)
        VALUES (p_slug, p_organization_id, p_request_id, p_fingerprint)
        ON CONFLICT DO NOTHING
        RETURNING c.slug, c.organization_id, c.request_id, c.fingerprint, false, 0::double precision, true;
    IF FOUND THEN
        RETURN;
    END IF;

    RETURN QUERY
        SELECT c.slug, c.organization_id, c.request_id, c.fingerprint, c.confirmed_at IS NOT NULL,
               extract(epoch FROM clock_timestamp() - c.claimed_at)::double precision, false
          FROM slug_claims c
         WHERE c.slug = p_slug OR c.organization_id = p_organization_id
         ORDER BY (c.slug = p_slug) DESC
         LIMIT 1;
END
$$;

SELECT rebuild_organizations_projection();
