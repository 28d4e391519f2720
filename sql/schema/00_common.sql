-- pg_mlkit: what every table shares.
--
-- Tenancy (seed 002): every table has `tenant_id`, filled from the `app.tenant` setting, and a
-- row-level security policy that lets a role that does not own the table see and write only
-- rows of its current tenant. A session that never sets `app.tenant` works in the tenant
-- 'default', so single-tenant users need no setup (pg_mlkit.require_tenant makes that an
-- error). The policies are attached to every table at the end of the install script
-- (99_finish.sql), which also seals the keys: every primary key and unique constraint includes
-- tenant_id, and every foreign key carries it, so no key crosses tenants.

-- In Rust (src/tenancy.rs), so that reading it loads the library and its settings.
CREATE FUNCTION ml.current_tenant() RETURNS text
LANGUAGE c STABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'current_tenant_wrapper';

COMMENT ON FUNCTION ml.current_tenant() IS
  'The tenant of this session: the app.tenant setting, or ''default'' when it is unset or empty (an error when pg_mlkit.require_tenant is on).';

-- Keeps `updated_at` honest on tables that have it.
CREATE FUNCTION ml.touch_updated_at() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  NEW.updated_at := now();
  RETURN NEW;
END
$$;

-- Columns that name a role (created_by, acknowledged_by) cannot be forged: for every role but
-- the owner, the trigger writes current_user. TG_ARGV[0] names the column; TG_ARGV[1] is
-- 'creator' (set on insert, never changed) or 'actor' (set to current_user whenever it is set
-- or changed to a value; it may be cleared).
CREATE FUNCTION ml.stamp_actor() RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
  col    text := TG_ARGV[0];
  given  jsonb;
BEGIN
  -- The owner of the table (and superusers) may write anything: restores, corrections.
  IF pg_has_role(current_user, (SELECT c.relowner FROM pg_class c WHERE c.oid = TG_RELID), 'MEMBER') THEN
    RETURN NEW;
  END IF;
  IF TG_ARGV[1] = 'creator' THEN
    NEW := jsonb_populate_record(NEW, jsonb_build_object(col,
             CASE TG_OP WHEN 'INSERT' THEN to_jsonb(current_user::text) ELSE to_jsonb(OLD) -> col END));
  ELSE
    given := to_jsonb(NEW) -> col;
    IF given IS NOT NULL AND given <> 'null'::jsonb
       AND (TG_OP = 'INSERT' OR given IS DISTINCT FROM to_jsonb(OLD) -> col) THEN
      NEW := jsonb_populate_record(NEW, jsonb_build_object(col, current_user::text));
    END IF;
  END IF;
  RETURN NEW;
END
$$;

-- TRUNCATE ignores row-level security: a role allowed to truncate a table would empty it for
-- every tenant. So only the owner of the tables (and superusers) may; 99_finish.sql attaches
-- this to every table.
CREATE FUNCTION ml.refuse_truncate() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  IF pg_has_role(current_user, (SELECT c.relowner FROM pg_class c WHERE c.oid = TG_RELID), 'MEMBER') THEN
    RETURN NULL;
  END IF;
  RAISE EXCEPTION 'TRUNCATE of ml.% by role % is refused: it would empty the table for every tenant', TG_TABLE_NAME, current_user
    USING ERRCODE = 'insufficient_privilege',
          HINT = 'DELETE the rows of your tenant instead; only the owner of the table may truncate it.';
END
$$;
