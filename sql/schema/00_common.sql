-- pg_mlkit: what every table shares.
--
-- Tenancy (seed 002): every table has `tenant_id`, filled from the `app.tenant` setting, and a
-- row-level security policy that lets a role that does not own the table see and write only
-- rows of its current tenant. A role may work only in a tenant it was granted
-- (ml.grant_tenant; ml.tenant_access below); a session that never sets `app.tenant` works in the
-- tenant 'default', which a fresh install grants to PUBLIC, so single-tenant users need no setup
-- (pg_mlkit.require_tenant makes an unset tenant an error). The policies are attached to every
-- table at the end of the install script (99_finish.sql), which also seals the keys: every
-- primary key and unique constraint includes tenant_id, and every foreign key carries it, so no
-- key crosses tenants.
--
-- Nothing here resolves a name through the caller's search_path (docs/security.md): every
-- function that runs SQL pins `search_path = pg_catalog, pg_temp` (pg_temp last, so a temporary
-- object never shadows a catalog one; operators then resolve only in pg_catalog) and names every
-- relation, type and function with its schema. Triggers fire for any role, in a cascade even as
-- the owner of the table with the caller's search_path, so this matters most for them.

-- @begin internal_schema (a block the 0.3.0 upgrade includes)
-- The support functions of pg_mlkit's types and aggregates (input/output, send/receive,
-- transition and combine functions) live apart from what users call, so that \df ml.* lists
-- only the latter. PostgreSQL calls them by oid: no role needs USAGE on the schema.
CREATE SCHEMA ml_internal;
COMMENT ON SCHEMA ml_internal IS
  'Support functions of pg_mlkit''s types and aggregates (input/output, send/receive, transition, combine): called by PostgreSQL, not by users.';
-- @end internal_schema

-- In Rust (src/tenancy.rs), so that reading it loads the library and its settings.
CREATE OR REPLACE FUNCTION ml.current_tenant() RETURNS text
LANGUAGE c STABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'current_tenant_wrapper';

COMMENT ON FUNCTION ml.current_tenant() IS
  'The tenant of this session: the app.tenant setting, or ''default'' when it is unset or empty (an error when pg_mlkit.require_tenant is on, or when the current role was not granted the tenant).';

-- Keeps `updated_at` honest on tables that have it.
-- @begin tenant_access (a block the 0.3.0 upgrade includes: scripts/compose_upgrade.py)
-- Which roles may work in which tenant. ml.current_tenant() reads it as the calling role: a role
-- that is not the owner of pg_mlkit, a superuser or BYPASSRLS may use a tenant only if it was
-- granted to PUBLIC or to a role it is a member of. Only the owner writes it (ml.grant_tenant,
-- ml.revoke_tenant); a revoked grant stays as a row with granted = false, so that a dump keeps
-- the revocation of the built-in grant below (the install script makes that row again on
-- restore; tenant_access_merge then takes the dumped state). role_name 'public' is PUBLIC (no
-- role can be named so). Not tenant data itself: no tenant_id, no tenant policy.
CREATE TABLE ml.tenant_access (
  role_name   text NOT NULL CHECK (role_name <> ''),
  tenant      text NOT NULL CHECK (tenant <> ''),
  granted     boolean NOT NULL DEFAULT true,
  granted_by  text NOT NULL DEFAULT CURRENT_USER,
  granted_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (role_name, tenant)
);
COMMENT ON TABLE ml.tenant_access IS
  'Which roles may work in which tenant (role_name ''public'' is PUBLIC); written by ml.grant_tenant and ml.revoke_tenant. See the view ml.tenant_grants.';
-- Every role reads it (ml.current_tenant() does, as the calling role), but sees only the grants
-- that concern it: to PUBLIC and to roles it is a member of.
ALTER TABLE ml.tenant_access ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_grants ON ml.tenant_access FOR SELECT
  USING (role_name = 'public' OR EXISTS (SELECT 1 FROM pg_catalog.pg_roles r
                                          WHERE r.rolname = role_name AND pg_catalog.pg_has_role(r.oid, 'MEMBER')));
GRANT SELECT ON ml.tenant_access TO PUBLIC;

-- A row that is already there (the built-in grant, made again by CREATE EXTENSION before
-- pg_restore copies the dumped rows) takes the incoming state instead of failing the copy.
CREATE OR REPLACE FUNCTION ml.tenant_access_merge() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  UPDATE ml.tenant_access a
     SET granted = NEW.granted, granted_by = NEW.granted_by, granted_at = NEW.granted_at
   WHERE a.role_name = NEW.role_name AND a.tenant = NEW.tenant;
  IF FOUND THEN
    RETURN NULL;
  END IF;
  RETURN NEW;
END
$$;
COMMENT ON FUNCTION ml.tenant_access_merge() IS
  'Trigger support of ml.tenant_access: a restored row that is already there takes the incoming state.';
CREATE TRIGGER tenant_access_merge BEFORE INSERT ON ml.tenant_access
  FOR EACH ROW EXECUTE FUNCTION ml.tenant_access_merge();

-- Single-tenant use needs no setup: every role may work in 'default'.
INSERT INTO ml.tenant_access (role_name, tenant, granted_by) VALUES ('public', 'default', 'pg_mlkit');

CREATE VIEW ml.tenant_grants WITH (security_invoker = true) AS
SELECT CASE a.role_name WHEN 'public' THEN 'PUBLIC' ELSE a.role_name END AS role,
       a.tenant, a.granted_by, a.granted_at
  FROM ml.tenant_access a
 WHERE a.granted;
COMMENT ON VIEW ml.tenant_grants IS
  'The tenants each role may work in (PUBLIC: every role); an ordinary role sees the grants that concern it.';
GRANT SELECT ON ml.tenant_grants TO PUBLIC;
-- @end tenant_access

-- ml.grant_tenant / ml.revoke_tenant take the role as a name (a quoted literal picks these;
-- 'public' in any case is PUBLIC unless a role of exactly that name exists) or as a regrole
-- (0 is PUBLIC).
CREATE OR REPLACE FUNCTION ml.grant_tenant(role name, tenant text) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  verb     pg_catalog.text := 'grant';
  grantee  pg_catalog.text;
BEGIN
  IF NOT pg_catalog.pg_has_role(CURRENT_USER,
           (SELECT e.extowner FROM pg_catalog.pg_extension e WHERE e.extname = 'pg_mlkit'), 'MEMBER') THEN
    RAISE EXCEPTION 'ml.%_tenant: only the owner of pg_mlkit may grant or revoke tenants, not role %', verb, CURRENT_USER
      USING ERRCODE = 'insufficient_privilege', HINT = 'Ask the owner of the extension (or a superuser) to run it.';
  END IF;
  IF role IS NULL THEN
    RAISE EXCEPTION 'ml.%_tenant: role must not be NULL', verb
      USING ERRCODE = 'null_value_not_allowed', HINT = 'Name a role, or PUBLIC for every role.';
  END IF;
  IF tenant IS NULL OR tenant = '' THEN
    RAISE EXCEPTION 'ml.%_tenant: tenant must be a non-empty name, not %', verb, coalesce(pg_catalog.quote_literal(tenant), 'NULL')
      USING ERRCODE = 'invalid_parameter_value', HINT = 'Name the tenant as sessions set it: SET app.tenant = ''...''.';
  END IF;
  IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = role) THEN
    grantee := role;
  ELSIF pg_catalog.lower(role) = 'public' THEN
    grantee := 'public';
  ELSE
    RAISE EXCEPTION 'ml.%_tenant: role % does not exist', verb, pg_catalog.quote_literal(role)
      USING ERRCODE = 'undefined_object', HINT = 'Create the role first, or name PUBLIC for every role.';
  END IF;
  INSERT INTO ml.tenant_access AS a (role_name, tenant, granted, granted_by, granted_at)
  VALUES (grantee, tenant, true, CURRENT_USER, pg_catalog.now())
  ON CONFLICT ON CONSTRAINT tenant_access_pkey DO UPDATE
     SET granted = true, granted_by = EXCLUDED.granted_by, granted_at = EXCLUDED.granted_at
   WHERE NOT a.granted;
END
$$;
CREATE OR REPLACE FUNCTION ml.revoke_tenant(role name, tenant text) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  verb     pg_catalog.text := 'revoke';
  grantee  pg_catalog.text;
BEGIN
  IF NOT pg_catalog.pg_has_role(CURRENT_USER,
           (SELECT e.extowner FROM pg_catalog.pg_extension e WHERE e.extname = 'pg_mlkit'), 'MEMBER') THEN
    RAISE EXCEPTION 'ml.%_tenant: only the owner of pg_mlkit may grant or revoke tenants, not role %', verb, CURRENT_USER
      USING ERRCODE = 'insufficient_privilege', HINT = 'Ask the owner of the extension (or a superuser) to run it.';
  END IF;
  IF role IS NULL THEN
    RAISE EXCEPTION 'ml.%_tenant: role must not be NULL', verb
      USING ERRCODE = 'null_value_not_allowed', HINT = 'Name a role, or PUBLIC for every role.';
  END IF;
  IF tenant IS NULL OR tenant = '' THEN
    RAISE EXCEPTION 'ml.%_tenant: tenant must be a non-empty name, not %', verb, coalesce(pg_catalog.quote_literal(tenant), 'NULL')
      USING ERRCODE = 'invalid_parameter_value', HINT = 'Name the tenant as sessions set it: SET app.tenant = ''...''.';
  END IF;
  IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = role) THEN
    grantee := role;
  ELSIF pg_catalog.lower(role) = 'public' THEN
    grantee := 'public';
  ELSE
    RAISE EXCEPTION 'ml.%_tenant: role % does not exist', verb, pg_catalog.quote_literal(role)
      USING ERRCODE = 'undefined_object', HINT = 'Create the role first, or name PUBLIC for every role.';
  END IF;
  UPDATE ml.tenant_access a SET granted = false, granted_by = CURRENT_USER, granted_at = pg_catalog.now()
   WHERE a.role_name = grantee AND a.tenant = revoke_tenant.tenant AND a.granted;
END
$$;
CREATE OR REPLACE FUNCTION ml.grant_tenant(role regrole, tenant text) RETURNS void
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT ml.grant_tenant(coalesce((SELECT r.rolname FROM pg_catalog.pg_roles r WHERE r.oid OPERATOR(pg_catalog.=) $1),
                                      CASE WHEN $1 OPERATOR(pg_catalog.=) 0::pg_catalog.oid THEN 'public'::pg_catalog.name END), $2) $$;
CREATE OR REPLACE FUNCTION ml.revoke_tenant(role regrole, tenant text) RETURNS void
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT ml.revoke_tenant(coalesce((SELECT r.rolname FROM pg_catalog.pg_roles r WHERE r.oid OPERATOR(pg_catalog.=) $1),
                                       CASE WHEN $1 OPERATOR(pg_catalog.=) 0::pg_catalog.oid THEN 'public'::pg_catalog.name END), $2) $$;
COMMENT ON FUNCTION ml.grant_tenant(name, text) IS
  'Lets a role and its members (PUBLIC: every role) work in a tenant. Owner of pg_mlkit only.';
COMMENT ON FUNCTION ml.grant_tenant(regrole, text) IS
  'Lets a role and its members work in a tenant. Owner of pg_mlkit only.';
COMMENT ON FUNCTION ml.revoke_tenant(name, text) IS
  'Takes a tenant grant back (PUBLIC: the grant to every role). Owner of pg_mlkit only.';
COMMENT ON FUNCTION ml.revoke_tenant(regrole, text) IS
  'Takes a tenant grant back from a role. Owner of pg_mlkit only.';

-- Per row, and it runs no query: no SET clause (it would cost every UPDATE), the one call qualified.
CREATE OR REPLACE FUNCTION ml.touch_updated_at() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  NEW.updated_at := pg_catalog.now();
  RETURN NEW;
END
$$;
COMMENT ON FUNCTION ml.touch_updated_at() IS
  'Trigger support: sets updated_at on every update of the tables that have it.';

-- Columns that name a role (created_by, acknowledged_by) cannot be forged: for every role but
-- the owner, the trigger writes current_user. TG_ARGV[0] names the column; TG_ARGV[1] is
-- 'creator' (set on insert, never changed) or 'actor' (set to current_user whenever it is set
-- or changed to a value; it may be cleared).
CREATE OR REPLACE FUNCTION ml.stamp_actor() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  col    pg_catalog.text := TG_ARGV[0];
  given  pg_catalog.jsonb;
BEGIN
  -- The owner of the table (and superusers) may write anything: restores, corrections.
  IF pg_catalog.pg_has_role(CURRENT_USER, (SELECT c.relowner FROM pg_catalog.pg_class c WHERE c.oid = TG_RELID), 'MEMBER') THEN
    RETURN NEW;
  END IF;
  IF TG_ARGV[1] = 'creator' THEN
    NEW := pg_catalog.jsonb_populate_record(NEW, pg_catalog.jsonb_build_object(col,
             CASE TG_OP WHEN 'INSERT' THEN pg_catalog.to_jsonb(CURRENT_USER::pg_catalog.text)
                        ELSE pg_catalog.to_jsonb(OLD) -> col END));
  ELSE
    given := pg_catalog.to_jsonb(NEW) -> col;
    IF given IS NOT NULL AND given <> 'null'::pg_catalog.jsonb
       AND (TG_OP = 'INSERT' OR given IS DISTINCT FROM pg_catalog.to_jsonb(OLD) -> col) THEN
      NEW := pg_catalog.jsonb_populate_record(NEW, pg_catalog.jsonb_build_object(col, CURRENT_USER::pg_catalog.text));
    END IF;
  END IF;
  RETURN NEW;
END
$$;
COMMENT ON FUNCTION ml.stamp_actor() IS
  'Trigger support: columns naming a role (created_by, acknowledged_by) get current_user for every role but the owner, so they cannot be forged.';

-- TRUNCATE ignores row-level security: a role allowed to truncate a table would empty it for
-- every tenant. So only the owner of the tables (and superusers) may; 99_finish.sql attaches
-- this to every table.
CREATE OR REPLACE FUNCTION ml.refuse_truncate() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF pg_catalog.pg_has_role(CURRENT_USER, (SELECT c.relowner FROM pg_catalog.pg_class c WHERE c.oid = TG_RELID), 'MEMBER') THEN
    RETURN NULL;
  END IF;
  RAISE EXCEPTION 'TRUNCATE of ml.% by role % is refused: it would empty the table for every tenant', TG_TABLE_NAME, CURRENT_USER
    USING ERRCODE = 'insufficient_privilege',
          HINT = 'DELETE the rows of your tenant instead; only the owner of the table may truncate it.';
END
$$;
COMMENT ON FUNCTION ml.refuse_truncate() IS
  'Trigger support: refuses TRUNCATE of a table of ml by a role that does not own it (it would bypass row-level security).';
