-- 0002 environment configuration: base domains live in the database, never in code paths.
--
-- Why: the subdomain of a tenant is {slug}.{base domain}, and the base domain differs per deployment
-- (development -> firstovertheline.com, production -> analytics4change.com). Keeping the mapping
-- here lets every process ask the same source, and a deployment changes it with an UPDATE.
--
-- Which environment applies, first match wins:
--   1. the argument of get_base_domain(environment)        (a process that knows its environment)
--   2. the session setting a4c.environment                  (SET a4c.environment = 'production')
--   3. the row 'environment' of deployment_settings         (set by `migrate --environment NAME`)
-- The seeded row says 'development', the safe default for a local stack.

CREATE TABLE environments (
    environment text PRIMARY KEY CHECK (environment ~ '^[a-z][a-z0-9_-]*$'),
    base_domain text NOT NULL CHECK (base_domain ~ '^([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}$')
);

INSERT INTO environments (environment, base_domain) VALUES
    ('development', 'firstovertheline.com'),
    ('production', 'analytics4change.com');

CREATE TABLE deployment_settings (
    key   text PRIMARY KEY,
    value text NOT NULL
);

INSERT INTO deployment_settings (key, value) VALUES ('environment', 'development');

CREATE FUNCTION current_environment() RETURNS text
LANGUAGE sql STABLE
AS $$
    SELECT coalesce(
        nullif(current_setting('a4c.environment', true), ''),
        (SELECT value FROM deployment_settings WHERE key = 'environment'))
$$;

CREATE FUNCTION get_base_domain(p_environment text DEFAULT NULL) RETURNS text
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    wanted text := coalesce(p_environment, current_environment());
    domain text;
BEGIN
    SELECT base_domain INTO domain FROM environments WHERE environment = wanted;
    IF domain IS NULL THEN
        RAISE EXCEPTION 'no base domain configured for environment %', coalesce(quote_literal(wanted), 'NULL')
            USING ERRCODE = 'no_data_found';
    END IF;
    RETURN domain;
END
$$;

-- Records which environment this database serves (used by `python -m a4c.eventstore migrate
-- --environment NAME`); an unknown name is refused so a typo cannot silently pick no domain.
CREATE FUNCTION set_environment(p_environment text) RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM environments WHERE environment = p_environment) THEN
        RAISE EXCEPTION 'unknown environment %', quote_literal(p_environment)
            USING ERRCODE = 'no_data_found';
    END IF;
    INSERT INTO deployment_settings (key, value) VALUES ('environment', p_environment)
        ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value;
END
$$;
