//! Writing a run's per-item results: in bounded batches, each one `INSERT ... SELECT FROM
//! unnest(...)` over arrays of [`BATCH_ROWS`] elements, so that no array of every id is ever
//! built and the write's extra memory is a batch, whatever the row count. Everything runs in
//! the caller's transaction: a failure later in the call rolls every batch back.
//!
//! Several arrays are unnested by the grammar's own `unnest(a, b, ...)` form, which only an
//! unqualified `unnest` names; PostgreSQL expands it to `pg_catalog.unnest` of each array,
//! so no other function can stand in for it.
//!
//! `ml.cluster_assignments` checks its run once per statement (see
//! `sql/schema/10_analysis.sql`), so a batch costs one check, not one per row.

use crate::shared::errors::spi;
use crate::shared::progress::Reporter;
use mlkit::Clustering;
use pgrx::prelude::*;

/// Rows per `INSERT`.
pub const BATCH_ROWS: usize = 10_000;

/// Calls `write` with every batch of `0..n` (at most [`BATCH_ROWS`] rows) in one SPI
/// connection, telling `progress` before each (where cancels are noticed); `what` names the
/// rows in progress reports.
pub fn in_batches(
    n: usize,
    what: &str,
    progress: &mut Reporter,
    mut write: impl FnMut(&mut pgrx::spi::SpiClient<'_>, std::ops::Range<usize>),
) {
    Spi::connect_mut(|c| {
        for start in (0..n).step_by(BATCH_ROWS) {
            progress.tick(|| format!("writing {what}: {start} of {n}"));
            write(c, start..(start + BATCH_ROWS).min(n));
        }
    });
}

/// Writes one `ml.cluster_assignments` row per item: `ids[i]` gets `result.labels[i]` and
/// whatever per-item values the algorithm has (distance, probability, outlier score).
pub fn write_assignments(run_id: i64, ids: &[String], result: &Clustering, progress: &mut Reporter) {
    let distances = result.distances.as_ref().map(|d| d.iter().map(|&v| v as f64).collect::<Vec<f64>>());
    let rows = AssignmentRows {
        labels: &result.labels,
        distances: distances.as_deref(),
        probabilities: result.probabilities.as_deref(),
        outlier_scores: result.outlier_scores.as_deref(),
    };
    write_assignment_rows(run_id, ids, &rows, progress);
}

/// Writes one `ml.embedding_coordinates` row per item: `ids[i]` gets `coords[i k .. (i + 1) k]`.
///
/// The ids are unnested, not subscripted: finding a `text[]` element by subscript walks the
/// array from its start, which made a batch quadratic. A slice of the `real[]` is direct.
pub fn write_coordinates(run_id: i64, ids: &[String], coords: &[f64], k: usize, progress: &mut Reporter) {
    in_batches(ids.len(), "coordinates", progress, |c, r| {
        let flat: Vec<f32> = coords[r.start * k..r.end * k].iter().map(|&v| v as f32).collect();
        spi(
            c.update(
                "INSERT INTO ml.embedding_coordinates (run_id, item_id, coords)
                 SELECT $1, u.item_id, ($3::real[])[(u.i - 1) * $4 + 1 : u.i * $4]
                   FROM pg_catalog.unnest($2::pg_catalog.text[]) WITH ORDINALITY AS u(item_id, i)",
                None,
                &[run_id.into(), ids[r.clone()].to_vec().into(), flat.into(), (k as i32).into()],
            ),
            "record the coordinates",
        );
    });
}

/// The per-item columns of `ml.cluster_assignments`, one entry per id.
pub struct AssignmentRows<'a> {
    pub labels: &'a [i32],
    pub distances: Option<&'a [f64]>,
    pub probabilities: Option<&'a [f64]>,
    pub outlier_scores: Option<&'a [f64]>,
}

/// Writes `ml.cluster_assignments` rows in batches.
pub fn write_assignment_rows(run_id: i64, ids: &[String], rows: &AssignmentRows, progress: &mut Reporter) {
    let part = |v: Option<&[f64]>, r: std::ops::Range<usize>| v.map(|v| v[r].to_vec());
    in_batches(ids.len(), "assignments", progress, |c, r| {
        spi(
            c.update(
                "INSERT INTO ml.cluster_assignments (run_id, item_id, cluster, distance, probability, outlier_score)
                 SELECT $1, u.item_id, u.cluster, u.distance, u.probability, u.outlier_score
                   FROM unnest($2::pg_catalog.text[], $3::integer[], $4::double precision[], $5::double precision[], $6::double precision[])
                        AS u(item_id, cluster, distance, probability, outlier_score)",
                None,
                &[
                    run_id.into(),
                    ids[r.clone()].to_vec().into(),
                    rows.labels[r.clone()].to_vec().into(),
                    part(rows.distances, r.clone()).into(),
                    part(rows.probabilities, r.clone()).into(),
                    part(rows.outlier_scores, r.clone()).into(),
                ],
            ),
            "record the cluster assignments",
        );
    });
}

/// The columns of `ml.duplicate_assignments` rows, one entry per item.
#[derive(Default)]
pub struct DuplicateRows {
    pub item_id: Vec<String>,
    pub exact_group_id: Vec<Option<String>>,
    pub exact_group_confidence: Vec<Option<String>>,
    pub similar_group_id: Vec<Option<String>>,
    pub similar_group_confidence: Vec<Option<String>>,
    pub similar_group_type: Vec<Option<String>>,
    pub hamming_distance: Vec<Option<i32>>,
}

/// Writes `ml.duplicate_assignments` rows in batches.
pub fn write_duplicates(run_id: i64, rows: &DuplicateRows, progress: &mut Reporter) {
    let n = rows.item_id.len();
    in_batches(n, "duplicate groups", progress, |c, r| {
        spi(
            c.update(
                "INSERT INTO ml.duplicate_assignments (run_id, item_id, exact_group_id, exact_group_confidence,
                        similar_group_id, similar_group_confidence, similar_group_type, hamming_distance)
                 SELECT $1, u.* FROM unnest($2::pg_catalog.text[], $3::pg_catalog.text[], $4::pg_catalog.text[], $5::pg_catalog.text[], $6::pg_catalog.text[], $7::pg_catalog.text[], $8::integer[]) AS u",
                None,
                &[
                    run_id.into(),
                    rows.item_id[r.clone()].to_vec().into(),
                    rows.exact_group_id[r.clone()].to_vec().into(),
                    rows.exact_group_confidence[r.clone()].to_vec().into(),
                    rows.similar_group_id[r.clone()].to_vec().into(),
                    rows.similar_group_confidence[r.clone()].to_vec().into(),
                    rows.similar_group_type[r.clone()].to_vec().into(),
                    rows.hamming_distance[r.clone()].to_vec().into(),
                ],
            ),
            "record the duplicate groups",
        );
    });
}

/// The scan engine's assignments: every row's nearest centroid and its distance, written by one
/// `INSERT ... SELECT` over the source (`parts`), so that the table is never held here.
///
/// The tenant is a parameter, computed here, not the column's default: on a Citus table the
/// SELECT runs on the workers, and Citus would evaluate the default `ml.current_tenant()`
/// there, in sessions without this one's `app.tenant`.
pub fn write_assignments_by_scan(parts: &crate::shared::source::ScanParts, run_id: i64, centroids: &[f32], dim: usize) {
    let query = format!(
        "INSERT INTO ml.cluster_assignments (run_id, tenant_id, item_id, cluster, distance)
         SELECT $1, $3, {id}, ml.nearest_centroid({e}, _ml_centres._ml_c), ml.centroid_distance({e}, _ml_centres._ml_c)
           FROM {from}, (SELECT $2 AS _ml_c) AS _ml_centres",
        id = parts.id,
        e = parts.native,
        from = parts.from
    );
    Spi::connect_mut(|c| {
        let tenant = crate::shared::tenancy::current_tenant();
        spi(
            c.update(&query, None, &[run_id.into(), crate::shared::sql::array_2d(centroids, dim), tenant.into()]),
            "record the assignments",
        );
    });
}

/// One `ml.cluster_summaries` row, as the writer takes it.
pub struct SummaryRow {
    pub cluster: i32,
    pub size: i64,
    pub centroid: Option<Vec<f32>>,
    pub mean_distance: Option<f64>,
    pub max_distance: Option<f64>,
    pub silhouette: Option<f64>,
    pub exemplars: Option<Vec<String>>,
}

/// The summary rows of a run computed here ([`mlkit::cluster::summary`]), with the item ids
/// of its exemplars and the per-cluster silhouettes (`(label, mean, sampled)`) where the run
/// has a silhouette.
pub fn summary_rows(
    summaries: &[mlkit::cluster::summary::Summary],
    ids: &[String],
    silhouettes: Option<&[(i32, f64, usize)]>,
) -> Vec<SummaryRow> {
    summaries
        .iter()
        .map(|s| SummaryRow {
            cluster: s.cluster,
            size: s.size as i64,
            centroid: s.centroid.clone(),
            mean_distance: s.mean_distance,
            max_distance: s.max_distance,
            silhouette: silhouettes.and_then(|v| v.iter().find(|x| x.0 == s.cluster)).map(|x| x.1),
            exemplars: (s.cluster >= 0).then(|| s.exemplars.iter().map(|&i| ids[i].clone()).collect()),
        })
        .collect()
}

/// The summary rows of a scan-engine run: sizes, spread and exemplars read back from the
/// assignments it wrote (one grouped pass), centroids from the fit.
pub fn summary_rows_from_assignments(
    run_id: i64,
    centroids: &[f32],
    dim: usize,
    silhouettes: Option<&[(i32, f64, usize)]>,
) -> Vec<SummaryRow> {
    Spi::connect(|c| {
        let t = spi(
            c.select(
                "SELECT s.cluster, s.size, s.mean, s.max, e.ids
                   FROM (SELECT a.cluster, pg_catalog.count(*) AS size, pg_catalog.avg(a.distance) AS mean, pg_catalog.max(a.distance) AS max
                           FROM ml.cluster_assignments a
                          WHERE a.run_id OPERATOR(pg_catalog.=) $1 AND a.tenant_id OPERATOR(pg_catalog.=) ml.current_tenant()
                          GROUP BY a.cluster) s
                   LEFT JOIN (SELECT x.cluster, pg_catalog.array_agg(x.item_id ORDER BY x.distance, x.item_id) AS ids
                                FROM (SELECT a.cluster, a.item_id, a.distance,
                                             pg_catalog.row_number() OVER (PARTITION BY a.cluster ORDER BY a.distance, a.item_id) AS rn
                                        FROM ml.cluster_assignments a
                                       WHERE a.run_id OPERATOR(pg_catalog.=) $1 AND a.tenant_id OPERATOR(pg_catalog.=) ml.current_tenant()) x
                               WHERE x.rn OPERATOR(pg_catalog.<=) 5
                               GROUP BY x.cluster) e ON e.cluster OPERATOR(pg_catalog.=) s.cluster
                  ORDER BY s.cluster",
                None,
                &[run_id.into()],
            ),
            "summarise the clusters",
        );
        t.map(|r| {
            let cluster = crate::shared::errors::spi_some(r.get::<i32>(1), "summarise the clusters");
            let j = cluster.max(0) as usize;
            SummaryRow {
                cluster,
                size: crate::shared::errors::spi_some(r.get::<i64>(2), "summarise the clusters"),
                centroid: centroids.get(j * dim..(j + 1) * dim).map(<[f32]>::to_vec),
                mean_distance: spi(r.get::<f64>(3), "summarise the clusters"),
                max_distance: spi(r.get::<f64>(4), "summarise the clusters"),
                silhouette: silhouettes.and_then(|v| v.iter().find(|x| x.0 == cluster)).map(|x| x.1),
                exemplars: spi(r.get::<Vec<String>>(5), "summarise the clusters"),
            }
        })
        .collect()
    })
}

/// Writes a run's `ml.cluster_summaries` rows (one a cluster: a few hundred at most in
/// practice, each its own INSERT).
pub fn write_summaries(run_id: i64, rows: &[SummaryRow], progress: &mut Reporter) {
    Spi::connect_mut(|c| {
        // A database still on 0.2.0's schema (this library installed, ALTER EXTENSION pg_mlkit
        // UPDATE not yet run) has no summaries table: its runs go without.
        let t = spi(c.select("SELECT pg_catalog.to_regclass('ml.cluster_summaries') IS NOT NULL", None, &[]), "find the cluster summaries");
        if !spi(t.first().get_one::<bool>(), "find the cluster summaries").unwrap_or(false) {
            return;
        }
        for (i, r) in rows.iter().enumerate() {
            progress.tick(|| format!("wrote {i} of {} cluster summaries", rows.len()));
            spi(
                c.update(
                    "INSERT INTO ml.cluster_summaries (run_id, cluster, size, centroid, mean_distance, max_distance, silhouette, exemplars)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    None,
                    &[
                        run_id.into(),
                        r.cluster.into(),
                        r.size.into(),
                        r.centroid.clone().into(),
                        r.mean_distance.into(),
                        r.max_distance.into(),
                        r.silhouette.into(),
                        r.exemplars.clone().into(),
                    ],
                ),
                "record the cluster summaries",
            );
        }
    });
}
