-- 0004 slug_claims: a durable slug → organization claim, taken before a bootstrap workflow starts.
--
-- Why: the organizations projection gets its row only from the workflow's own events, i.e. after the
-- start, so it cannot stop two concurrent requests (on any replica) from starting two bootstraps for
-- one slug. The provisioning service therefore claims the slug first (one INSERT ... ON CONFLICT DO
-- NOTHING, atomic across replicas), starts the workflow only for its own claim, and confirms the claim
-- once the start succeeded and organization.temporal_initiated is recorded.
--
-- Releasing: a claim stays unconfirmed only when its owner failed or crashed between claim and start.
-- The same request retrying (same organization id) simply reuses it. Another request may take the slug
-- over only through release_slug_claim, which deletes an unconfirmed claim older than the caller's
-- bound; the service calls it after Temporal confirmed that no bootstrap exists for the claim's
-- organization. A confirmed claim is never released: like the projection's unique slug, the slug stays
-- with its organization even after a failed or cancelled bootstrap (an operator decision to free it).
--
-- An organization recorded without a claim (seeded, or from before this table) still holds its slug:
-- claim_slug reports the projection row's organization as the holder.

CREATE TABLE slug_claims (
    slug            text        PRIMARY KEY CHECK (slug ~ '^[a-z][a-z0-9-]{1,61}[a-z0-9]$'),
    organization_id uuid        NOT NULL,
    request_id      text,
    fingerprint     text        NOT NULL,
    claimed_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    confirmed_at    timestamptz,
    -- One slug per organization: a request id reused for another slug must not claim a second one.
    CONSTRAINT slug_claims_organization_key UNIQUE (organization_id)
);

COMMENT ON TABLE slug_claims IS
    'Slug reservations of the provisioning service (claim_slug, confirm_slug_claim, release_slug_claim).';

-- The claim for p_slug as it stands after trying to take it for p_organization_id:
-- created = true when this call took it; otherwise the holder (another organization, or the same one
-- from an earlier call). When p_organization_id already holds another slug, that claim is returned.
-- No row only when a racing release removed the winner between the insert and the read: call again.
CREATE FUNCTION claim_slug(p_slug text, p_organization_id uuid, p_request_id text, p_fingerprint text)
RETURNS TABLE (slug text, organization_id uuid, request_id text, fingerprint text, confirmed boolean,
               age_seconds double precision, created boolean)
LANGUAGE plpgsql
AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
        SELECT p.slug, p.id, NULL::text, NULL::text, true, 0::double precision, false
          FROM organizations_projection p
         WHERE p.slug = p_slug AND p.id <> p_organization_id
           AND NOT EXISTS (SELECT 1 FROM slug_claims c WHERE c.slug = p_slug);
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

    -- Each statement of a volatile function sees the latest commits: the winner of a racing insert.
    RETURN QUERY
        SELECT c.slug, c.organization_id, c.request_id, c.fingerprint, c.confirmed_at IS NOT NULL,
               extract(epoch FROM clock_timestamp() - c.claimed_at)::double precision, false
          FROM slug_claims c
         WHERE c.slug = p_slug OR c.organization_id = p_organization_id
         ORDER BY (c.slug = p_slug) DESC
         LIMIT 1;
END
$$;

-- Marks the claim as backed by a started workflow; from then on it is never released.
CREATE FUNCTION confirm_slug_claim(p_slug text, p_organization_id uuid) RETURNS boolean
LANGUAGE plpgsql
AS $$
BEGIN
    UPDATE slug_claims SET confirmed_at = coalesce(confirmed_at, clock_timestamp())
     WHERE slug = p_slug AND organization_id = p_organization_id;
    RETURN FOUND;
END
$$;

-- Deletes p_organization_id's unconfirmed claim on p_slug if it is older than p_older_than seconds.
CREATE FUNCTION release_slug_claim(p_slug text, p_organization_id uuid, p_older_than double precision)
RETURNS boolean
LANGUAGE plpgsql
AS $$
BEGIN
    DELETE FROM slug_claims
     WHERE slug = p_slug AND organization_id = p_organization_id AND confirmed_at IS NULL
       AND claimed_at < clock_timestamp() - make_interval(secs => p_older_than);
    RETURN FOUND;
END
$$;
