-- 0005: the service's "workflow started" event takes the name DESIGN gives it.
--
-- Why: DESIGN and the provisioning issue name it organization.bootstrap.temporal_initiated (it belongs
-- to the bootstrap's lifecycle like bootstrap.completed/failed); 0003 had shortened it to
-- organization.temporal_initiated. Any stored events are renamed (the projection reads the same
-- payload under either name) and the projection functions now dispatch the DESIGN name only, so an
-- event under the old name is recorded as unknown from here on.

UPDATE domain_events
   SET event_type = 'organization.bootstrap.temporal_initiated'
 WHERE event_type = 'organization.temporal_initiated';

CREATE OR REPLACE FUNCTION organizations_apply_bootstrap_event(e domain_events) RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    final boolean;
BEGIN
    PERFORM organizations_projection_touch(e);
    SELECT bootstrap_status IN ('completed', 'failed', 'cancelled') INTO final
      FROM organizations_projection WHERE id = e.stream_id;

    CASE e.event_type
    WHEN 'organization.bootstrap.temporal_initiated' THEN
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

CREATE OR REPLACE FUNCTION project_event(e domain_events) RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    IF e.event_type IN (
        'organization.bootstrap.temporal_initiated', 'organization.zitadel.created', 'organization.created',
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
