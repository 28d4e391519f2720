// Tests that need Rust around a live server (run by `cargo pgrx test`, each in a
// transaction that is rolled back). The user-facing behaviour is covered by the SQL suites
// in tests/; these check the extension's invariants from the inside.
use pgrx::prelude::*;

#[pg_test]
fn schema_has_every_table_of_the_spec() {
    // The spec's 34 tables of tenant data, ml.cluster_summaries (0.3.0), and ml.tenant_access
    // (which roles may use which tenant).
    let n = Spi::get_one::<i64>(
        "SELECT count(*) FROM pg_tables t WHERE t.schemaname = 'ml'
            AND EXISTS (SELECT 1 FROM information_schema.columns c
                         WHERE c.table_schema = 'ml' AND c.table_name = t.tablename AND c.column_name = 'tenant_id')",
    );
    assert_eq!(n, Ok(Some(35)));
    let other = Spi::get_one::<String>("SELECT string_agg(tablename, ',') FROM pg_tables t WHERE t.schemaname = 'ml'
        AND NOT EXISTS (SELECT 1 FROM information_schema.columns c
                         WHERE c.table_schema = 'ml' AND c.table_name = t.tablename AND c.column_name = 'tenant_id')");
    assert_eq!(other, Ok(Some("tenant_access".into())));
}

#[pg_test]
fn settings_are_registered_with_their_defaults() {
    assert_eq!(Spi::get_one::<String>("SHOW pg_mlkit.threads"), Ok(Some("0".into())));
    assert_eq!(Spi::get_one::<String>("SHOW pg_mlkit.max_memory_mb"), Ok(Some("4GB".into())));
    assert_eq!(Spi::get_one::<String>("SHOW pg_mlkit.progress_interval"), Ok(Some("10s".into())));
    assert_eq!(Spi::get_one::<String>("SHOW pg_mlkit.max_image_pixels"), Ok(Some("89478485".into())));
}

#[pg_test]
fn a_duplicate_run_agrees_with_its_assignments() {
    // 3,000 hashes in 300 groups of near-copies (a few bits flipped), plus exact copies.
    Spi::run(
        "CREATE TABLE h AS
           SELECT g AS id,
                  ('x' || substr(md5((g % 300)::text), 1, 16))::bit(64)::bigint # (1::bigint << (g % 7)) AS phash,
                  sha256(((g % 1500)::text)::bytea) AS sha
             FROM generate_series(1, 3000) g",
    )
    .unwrap();
    let run_id = Spi::get_one::<i64>("SELECT ml.group_near_duplicates('h', sha256_column => 'sha')").unwrap().unwrap();
    let check = |sql: &str| Spi::get_one_with_args::<bool>(sql, &[run_id.into()]);
    // Every member is within the radius of its leader, and the metrics count the rows.
    assert_eq!(
        check(
            "SELECT bool_and(ml.hamming_distance(m.phash, l.phash) <= 10)
               FROM ml.duplicate_assignments d JOIN h m ON m.id::text = d.item_id
               JOIN h l ON l.id::text = d.similar_group_id WHERE d.run_id = $1"
        ),
        Ok(Some(true))
    );
    assert_eq!(
        check(
            "SELECT (r.metrics ->> 'items_in_similar_groups')::bigint =
                    (SELECT count(*) FROM ml.duplicate_assignments WHERE run_id = $1 AND similar_group_id IS NOT NULL)
                AND (r.metrics ->> 'items_in_exact_groups')::bigint =
                    (SELECT count(*) FROM ml.duplicate_assignments WHERE run_id = $1 AND exact_group_id IS NOT NULL)
               FROM ml.analysis_runs r WHERE r.id = $1"
        ),
        Ok(Some(true))
    );
}

#[pg_test]
fn a_run_agrees_with_its_assignments() {
    Spi::run(
        "CREATE TABLE t AS SELECT g AS id, ARRAY[g % 5, (g * 7) % 11, g % 3]::real[] AS embedding
           FROM generate_series(1, 5000) g",
    )
    .unwrap();
    let run_id = Spi::get_one::<i64>("SELECT ml.cluster_embeddings('t', params => '{\"n_clusters\": 6}')")
        .unwrap()
        .unwrap();
    // metrics.cluster_sizes, row_count and the assignment rows tell the same story.
    let mismatches = Spi::get_one_with_args::<i64>(
        "SELECT count(*) FROM (
           SELECT c.cluster, c.n, (r.metrics -> 'cluster_sizes' ->> c.cluster)::bigint AS recorded
             FROM (SELECT cluster, count(*) AS n FROM ml.cluster_assignments WHERE run_id = $1 GROUP BY 1) c,
                  ml.analysis_runs r WHERE r.id = $1) s
          WHERE n IS DISTINCT FROM recorded",
        &[run_id.into()],
    );
    assert_eq!(mismatches, Ok(Some(0)));
    let rows = Spi::get_one_with_args::<i64>("SELECT row_count FROM ml.analysis_runs WHERE id = $1", &[run_id.into()]);
    assert_eq!(rows, Ok(Some(5000)));
    // The inertia is the sum of squared distances recorded per item.
    let gap = Spi::get_one_with_args::<f64>(
        "SELECT abs((r.metrics ->> 'inertia')::float8 - (SELECT sum(distance ^ 2) FROM ml.cluster_assignments
                                                          WHERE run_id = $1)) / (r.metrics ->> 'inertia')::float8
           FROM ml.analysis_runs r WHERE r.id = $1",
        &[run_id.into()],
    );
    assert!(gap.unwrap().unwrap() < 1e-5);
}
