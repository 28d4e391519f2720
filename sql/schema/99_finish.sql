-- Applied to every table above, so that no table can be missed:
--  * row-level security keyed on ml.current_tenant() (owners and superusers bypass it);
--  * pg_extension_config_dump, so that pg_dump keeps user rows (and identity positions);
--  * the updated_at trigger where the table has that column.
DO $finish$
DECLARE
  t   regclass;
  seq text;
BEGIN
  FOR t IN
    SELECT c.oid::regclass FROM pg_class c
    WHERE c.relnamespace = 'ml'::regnamespace AND c.relkind = 'r'
    ORDER BY c.relname
  LOOP
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %s USING (tenant_id = ml.current_tenant()) '
                   'WITH CHECK (tenant_id = ml.current_tenant())', t);
    PERFORM pg_catalog.pg_extension_config_dump(t, '');
    FOR seq IN
      SELECT pg_get_serial_sequence(t::text, a.attname) FROM pg_attribute a
      WHERE a.attrelid = t AND a.attidentity <> '' AND NOT a.attisdropped
    LOOP
      PERFORM pg_catalog.pg_extension_config_dump(seq::regclass, '');
    END LOOP;
    IF EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = t AND attname = 'updated_at' AND NOT attisdropped) THEN
      EXECUTE format('CREATE TRIGGER touch_updated_at BEFORE UPDATE ON %s '
                     'FOR EACH ROW EXECUTE FUNCTION ml.touch_updated_at()', t);
    END IF;
  END LOOP;
END
$finish$;
