-- pg_mlkit: what every table shares.
--
-- Tenancy (seed 002): every table has `tenant_id`, filled from the `app.tenant` setting, and a
-- row-level security policy that lets a role that does not own the table see and write only
-- rows of its current tenant. A session that never sets `app.tenant` works in the tenant
-- 'default', so single-tenant users need no setup. The policies themselves are attached to
-- every table at the end of the install script (99_finish.sql).

CREATE FUNCTION ml.current_tenant() RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT coalesce(nullif(current_setting('app.tenant', true), ''), 'default') $$;

COMMENT ON FUNCTION ml.current_tenant() IS
  'The tenant of this session: the app.tenant setting, or ''default'' when it is unset or empty.';

-- Keeps `updated_at` honest on tables that have it.
CREATE FUNCTION ml.touch_updated_at() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  NEW.updated_at := now();
  RETURN NEW;
END
$$;
