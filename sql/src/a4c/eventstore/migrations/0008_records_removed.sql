-- 0008 compensation says what it removed: dns_record_deleted carries a list, possibly empty.
--
-- Why: the bootstrap's compensation removes every record its organization owns on the name, which
-- may be none (the step never created one) or, after a cancel that raced a running step, one
-- created after the cancel. It used to join the ids into "dns_record_id", empty when there were
-- none, which event_text rejected: the event was stored with a processing_error and the subdomain
-- never showed removed. New events carry "dns_record_ids" (a JSON array); an empty list is a valid
-- "nothing to remove". Older events keep their single-id rule, so a rebuild projects them as before.

CREATE OR REPLACE FUNCTION organizations_apply_subdomain_event(e domain_events) RETURNS void
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
        IF e.event_data ? 'dns_record_ids' THEN
            -- What compensation actually removed, possibly nothing: either way no record of this
            -- organization is left on the name, so the subdomain is removed.
            IF jsonb_typeof(e.event_data -> 'dns_record_ids') IS DISTINCT FROM 'array' THEN
                RAISE EXCEPTION '% requires "dns_record_ids" as an array', e.event_type USING ERRCODE = 'A4C02';
            END IF;
            UPDATE organizations_projection
               SET subdomain_status = 'removed', dns_record_id = NULL
             WHERE id = e.stream_id;
        ELSE
            -- Events before 0008: one id. Deleting an older record than the current one leaves the
            -- current one standing.
            record_id := event_text(e, 'dns_record_id');
            UPDATE organizations_projection
               SET subdomain_status = 'removed', dns_record_id = NULL
             WHERE id = e.stream_id AND (dns_record_id IS NULL OR dns_record_id = record_id);
        END IF;
    END CASE;
END
$$;
