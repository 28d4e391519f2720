//! `ml.compare_runs`: how alike the clusterings of two runs are, on the items both clustered.
//! The scores are [`mlkit::cluster::compare`]'s (scikit-learn's). Documented in
//! docs/functions/compare_runs.md.

use crate::shared::errors::{raise, spi, spi_some, INVALID_PARAMETER_VALUE, NULL_VALUE_NOT_ALLOWED};
use crate::shared::progress::Reporter;
use mlkit::cluster::compare::{agreement, Contingency};
use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::json;

/// Compares the cluster labels two runs gave the items both hold (matched by `item_id`), run
/// `a` taken as the reference: the adjusted Rand index, adjusted and normalised mutual
/// information (arithmetic mean), homogeneity, completeness and V-measure, as scikit-learn's
/// `sklearn.metrics` computes them from the same labels, and the contingency table. Noise (-1)
/// counts as a label of its own. Only the run's tenant's rows are read.
#[pg_extern(
    stable,
    parallel_safe,
    sql = r#"
CREATE FUNCTION ml.compare_runs(a bigint, b bigint)
RETURNS TABLE (items bigint, only_in_a bigint, only_in_b bigint,
               adjusted_rand double precision, adjusted_mutual_info double precision,
               normalized_mutual_info double precision, homogeneity double precision,
               completeness double precision, v_measure double precision, contingency jsonb)
STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
LANGUAGE c AS 'MODULE_PATHNAME', '@FUNCTION_NAME@';
COMMENT ON FUNCTION ml.compare_runs(bigint, bigint) IS
  'How alike the clusterings of two runs are on the items both hold: adjusted Rand, adjusted and normalized mutual information, homogeneity, completeness, V-measure (as scikit-learn) and the contingency table.';
"#
)]
#[allow(clippy::type_complexity)]
fn compare_runs(
    a: Option<i64>,
    b: Option<i64>,
) -> TableIterator<
    'static,
    (
        name!(items, i64),
        name!(only_in_a, i64),
        name!(only_in_b, i64),
        name!(adjusted_rand, f64),
        name!(adjusted_mutual_info, f64),
        name!(normalized_mutual_info, f64),
        name!(homogeneity, f64),
        name!(completeness, f64),
        name!(v_measure, f64),
        name!(contingency, JsonB),
    ),
> {
    let f = "ml.compare_runs";
    let need = |arg: &str, v: Option<i64>| {
        v.unwrap_or_else(|| {
            raise(NULL_VALUE_NOT_ALLOWED, format!("{f}: {arg} must not be NULL"), "Pass two run ids: ml.compare_runs(41, 42).")
        })
    };
    let (a, b) = (need("a", a), need("b", b));
    let (cells, sizes) = Spi::connect(|c| {
        // Both runs must be the session's tenant's and hold assignments.
        let mut sizes = [0i64; 2];
        for (k, (arg, id)) in [("a", a), ("b", b)].into_iter().enumerate() {
            let t = spi(
                c.select(
                    "SELECT r.analysis_type,
                            (SELECT pg_catalog.count(*) FROM ml.cluster_assignments x
                              WHERE x.run_id OPERATOR(pg_catalog.=) r.id AND x.tenant_id OPERATOR(pg_catalog.=) r.tenant_id)
                       FROM ml.analysis_runs r
                      WHERE r.id OPERATOR(pg_catalog.=) $1 AND r.tenant_id OPERATOR(pg_catalog.=) ml.current_tenant()",
                    None,
                    &[id.into()],
                ),
                "read the runs",
            );
            if t.is_empty() {
                raise(
                    INVALID_PARAMETER_VALUE,
                    format!("{f}: {arg} = {id} is not a run this session can see"),
                    "Look the id up in ml.analysis_runs (runs of other tenants are not visible).",
                );
            }
            let row = t.first();
            let kind = spi_some(row.get::<String>(1), "read the runs");
            sizes[k] = spi_some(row.get::<i64>(2), "read the runs");
            if sizes[k] == 0 {
                raise(
                    INVALID_PARAMETER_VALUE,
                    format!("{f}: {arg} = {id} ({kind}) assigned no items to clusters"),
                    "Compare runs of ml.cluster_embeddings or ml.predict_clusters: they record a cluster for every item.",
                );
            }
        }
        let t = spi(
            c.select(
                "SELECT x.cluster::pg_catalog.int8, y.cluster::pg_catalog.int8, pg_catalog.count(*)
                   FROM ml.cluster_assignments x
                   JOIN ml.cluster_assignments y ON y.item_id OPERATOR(pg_catalog.=) x.item_id
                                                AND y.tenant_id OPERATOR(pg_catalog.=) x.tenant_id
                  WHERE x.run_id OPERATOR(pg_catalog.=) $1 AND y.run_id OPERATOR(pg_catalog.=) $2
                    AND x.tenant_id OPERATOR(pg_catalog.=) ml.current_tenant()
                  GROUP BY 1, 2",
                None,
                &[a.into(), b.into()],
            ),
            "count the items of both runs",
        );
        let cells: Vec<(i64, i64, u64)> = t
            .map(|r| {
                let get = |i: usize| spi_some(r.get::<i64>(i), "count the items of both runs");
                (get(1), get(2), get(3) as u64)
            })
            .collect();
        (cells, sizes)
    });
    let table = Contingency::from_cells(&cells);
    let items = table.total() as i64;
    if items == 0 {
        raise(
            INVALID_PARAMETER_VALUE,
            format!("{f}: runs {a} and {b} have no item in common"),
            "Compare two runs over the same source: items are matched by item_id.",
        );
    }
    let mut progress = Reporter::new(f);
    let s = agreement(&table, &mut progress);
    let contingency = json!({"a_clusters": table.rows, "b_clusters": table.columns, "counts": table.counts});
    TableIterator::once((
        items,
        sizes[0] - items,
        sizes[1] - items,
        s.adjusted_rand,
        s.adjusted_mutual_info,
        s.normalized_mutual_info,
        s.homogeneity,
        s.completeness,
        s.v_measure,
        JsonB(contingency),
    ))
}
