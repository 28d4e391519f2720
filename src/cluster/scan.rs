//! `ml.cluster_embeddings(..., params => '{"engine": "scan"}')`: K-Means that never holds the
//! table. Every pass over the rows is one SQL statement over the source, run through
//! `SPI_execute_with_args` (which, unlike a cursor, may get a parallel plan): the
//! `ml.kmeans_step` aggregate for a Lloyd step, a `WHERE ml.sample_hash(...)` filter for
//! k-means‖'s draws, an `INSERT ... SELECT ml.nearest_centroid(...)` for the assignments.
//! What this backend holds is `O(k × d)`: centroids, one step's sums, k-means‖'s candidates
//! (about `2k` a round) and the quality sample.
//!
//! Passes, in order: the row count and mean variance (one step against a zero centroid);
//! k-means‖ (a first centre, [`INIT_ROUNDS`] rounds of one step and one draw, one step to
//! weight the candidates), Lloyd steps until the centres move less than `tol` (scikit-learn's
//! criterion) or `max_iter`; a last step for the inertia and sizes of the final centres; the
//! quality sample; the assignments. With `batch_size`, the Lloyd steps become mini-batch
//! steps (Sculley 2010, as scikit-learn's `MiniBatchKMeans`): each aggregates a seeded sample
//! of about `batch_size` rows and moves every centre towards its batch mean by the share of
//! the rows it has seen that the batch holds; it stops as scikit-learn does (no improvement
//! of the smoothed batch inertia for 10 batches). Each batch still reads the table (the
//! sample is a `WHERE` on the id's hash) but computes distances for the batch only.

use crate::shared::errors::{raise, spi, spi_some, INVALID_PARAMETER_VALUE, PROGRAM_LIMIT_EXCEEDED};
use crate::shared::progress::Reporter;
use crate::shared::source::{self, ScanParts};
use crate::shared::sql;
use mlkit::cluster::lloyd::{self, Step};
use pgrx::prelude::*;
use pgrx::spi::SpiClient;
use std::time::Instant;

/// k-means‖ rounds (Spark MLlib's `initializationSteps` default).
pub const INIT_ROUNDS: usize = 2;
/// Candidates drawn per round, as a multiple of k (Spark's oversampling factor ℓ = 2k).
pub const OVERSAMPLING: f64 = 2.0;
/// Lloyd iterations of the weighted candidates' reduction to k (Spark's `LocalKMeans`).
const LOCAL_ITERATIONS: usize = 30;
pub struct Params {
    pub n_clusters: usize,
    pub max_iter: usize,
    pub tol: f64,
    pub seed: u64,
    /// Rows for the silhouette and the other quality measures (a seeded sample).
    pub quality_sample: usize,
    /// `pg_mlkit.max_memory_mb` in bytes: what this engine holds (see [`memory_bytes`]) must fit.
    pub limit_bytes: usize,
    /// Mini-batch mode: rows per batch (a seeded sample per step), or `None` for Lloyd.
    pub batch_size: Option<usize>,
}

/// What the scan found.
pub struct Fit {
    pub rows: usize,
    pub dim: usize,
    /// `k × d`, row-major.
    pub centroids: Vec<f32>,
    pub sizes: Vec<i64>,
    pub inertia: f64,
    pub n_iter: usize,
    pub converged: bool,
    /// Milliseconds: initialisation and each Lloyd step.
    pub init_ms: f64,
    pub step_ms: Vec<f64>,
    /// The quality sample: rows (`m × d`) and their clusters.
    pub sample: Vec<f32>,
    pub sample_labels: Vec<i32>,
}

/// Bytes this engine holds for `k` centroids of `d` dimensions and a quality sample of `s`
/// rows: a few copies of the centroids and sums, k-means‖'s candidates, the sample.
pub fn memory_bytes(k: usize, d: usize, s: usize) -> usize {
    let candidates = 1 + INIT_ROUNDS * (OVERSAMPLING * k as f64) as usize * 2;
    8 * k * d * 6 + candidates * d * 12 + s * (d * 4 + 64)
}

/// The statements of one scan, built once from the quoted parts. Rows that are kept (draws,
/// the quality sample) are ordered by id: a parallel scan returns them in any order, and the
/// candidates' order feeds the seeded reduction to k.
struct Queries {
    step: String,
    batch: String,
    first: String,
    draw: String,
    check: String,
    sample: String,
}

impl Queries {
    /// Every name qualified and every internal alias `_ml…` ([`crate::shared::sql`]): the source's
    /// columns are reached only through its alias, so no column name of it can collide.
    fn new(p: &ScanParts) -> Self {
        let (e, n, id, from) = (&p.embedding, &p.native, &p.id, &p.from);
        let step = "SELECT ml.kmeans_counts(_ml_q._ml_s), ml.kmeans_sums(_ml_q._ml_s), ml.kmeans_inertia(_ml_q._ml_s)";
        // A real[] argument goes to the aggregate declared for it, which Citus can push down.
        let agg = if n == e { "ml.kmeans_step_real" } else { "ml.kmeans_step" };
        Self {
            step: format!("{step} FROM (SELECT {agg}({n}, $1) AS _ml_s FROM {from}) AS _ml_q"),
            batch: format!(
                "{step} FROM (SELECT {agg}({n}, $1) AS _ml_s FROM {from}
                               WHERE ml.sample_hash({id}, $2) OPERATOR(pg_catalog.<) $3) AS _ml_q"
            ),
            first: format!("SELECT {e} FROM {from} WHERE {e} IS NOT NULL ORDER BY ml.sample_hash({id}, $1), {id} LIMIT $2"),
            draw: format!(
                "SELECT {e} FROM {from}
                  WHERE {e} IS NOT NULL
                    AND (ml.sample_hash({id}, $1) OPERATOR(pg_catalog.*) $3)
                        OPERATOR(pg_catalog.<) ($4 OPERATOR(pg_catalog.*) pg_catalog.power(ml.centroid_distance({n}, $2), 2::double precision))
                  ORDER BY {id}"
            ),
            check: format!(
                "SELECT (SELECT {id} FROM {from} WHERE {e} IS NULL LIMIT 1),
                        (SELECT pg_catalog.count(*) FROM {from} WHERE {id} IS NULL),
                        (SELECT {id} FROM {from} GROUP BY 1 HAVING pg_catalog.count(*) OPERATOR(pg_catalog.>) 1 LIMIT 1)"
            ),
            sample: format!(
                "SELECT {e} FROM {from} WHERE {e} IS NOT NULL AND ml.sample_hash({id}, $1) OPERATOR(pg_catalog.<) $2 ORDER BY {id}"
            ),
        }
    }
}

fn step(c: &SpiClient<'_>, q: &Queries, centres: &[f32], d: usize) -> Step {
    let t = spi(c.select(&q.step, None, &[sql::array_2d(centres, d)]), "run a K-Means step");
    read_step(t.first(), centres.len() / d, d)
}

/// A step over the rows whose sampling hash (with `seed`) is below `fraction`.
fn batch(c: &SpiClient<'_>, q: &Queries, centres: &[f32], d: usize, seed: u64, fraction: f64) -> Step {
    let t = spi(c.select(&q.batch, None, &[sql::array_2d(centres, d), (seed as i64).into(), fraction.into()]), "run a mini-batch step");
    read_step(t.first(), centres.len() / d, d)
}

fn read_step(row: pgrx::spi::SpiTupleTable<'_>, k: usize, d: usize) -> Step {
    let counts: Option<Vec<i64>> = spi(row.get(1), "read a K-Means step");
    let sums: Option<Vec<f64>> = spi(row.get(2), "read a K-Means step");
    let inertia: Option<f64> = spi(row.get(3), "read a K-Means step");
    match (counts, sums, inertia) {
        (Some(counts), Some(sums), Some(inertia)) => Step { k, d, inertia, counts: counts.into_iter().map(|c| c as f64).collect(), sums },
        // No rows with an embedding.
        _ => Step::empty(k, d),
    }
}

fn rows_of(c: &SpiClient<'_>, query: &str, args: &[pgrx::datum::DatumWithOid], d: Option<usize>, what: &str) -> Vec<Vec<f32>> {
    let t = spi(c.select(query, None, args), what);
    let mut out = Vec::new();
    for row in t {
        if let Some(v) = spi(row.get::<Vec<f32>>(1), what) {
            if d.is_none_or(|d| v.len() == d) {
                out.push(v);
            }
        }
    }
    out
}

/// Runs the whole scan engine over the source `parts` (named `name` in messages).
pub fn fit(parts: &ScanParts, p: &Params, name: &str, progress: &mut Reporter) -> Fit {
    let q = Queries::new(parts);
    Spi::connect(|c| {
        // Rows without an id or an embedding, and repeated ids, are refused as the in-memory
        // engine refuses them.
        let t = spi(c.select(&q.check, None, &[]), "check the source");
        let row = t.first();
        if let Some(id) = spi(row.get::<String>(1), "check the source") {
            source::refuse_null_embedding(&parts.embedding_column, name, &id);
        }
        if spi_some(row.get::<i64>(2), "check the source") > 0 {
            source::refuse_null_id(&parts.id_column, name);
        }
        if let Some(id) = spi(row.get::<String>(3), "check the source") {
            source::refuse_duplicate_id(&parts.id_column, name, &id);
        }

        let started = Instant::now();
        let k = p.n_clusters;
        // The first centre: the row whose sampling hash is smallest.
        let first = rows_of(c, &q.first, &[(p.seed as i64).into(), 1i64.into()], None, "pick the first centre");
        let Some(first) = first.into_iter().next() else {
            raise(
                INVALID_PARAMETER_VALUE,
                format!("source {name} has no rows"),
                "Cluster a table or view that holds at least as many rows as clusters.",
            )
        };
        let d = first.len();
        if d == 0 {
            raise(
                INVALID_PARAMETER_VALUE,
                format!("source {name} has an empty embedding"),
                "Every embedding must hold at least one number.",
            );
        }
        let need = memory_bytes(k, d, p.quality_sample);
        if need > p.limit_bytes {
            raise(
                PROGRAM_LIMIT_EXCEEDED,
                format!(
                    "the scan engine with {k} clusters of {d} dimensions needs {} MB, over pg_mlkit.max_memory_mb ({} MB)",
                    need.div_ceil(1 << 20),
                    p.limit_bytes >> 20
                ),
                "Ask for fewer clusters or a smaller silhouette_sample_size, or raise pg_mlkit.max_memory_mb.",
            );
        }
        // Row count and mean per-feature variance (for tol), from a step against the origin.
        let origin = step(c, &q, &vec![0.0; d], d);
        let n = origin.n() as usize;
        if k > n {
            raise(
                INVALID_PARAMETER_VALUE,
                format!("params.n_clusters must be between 1 and the number of rows of source {name} ({n}), not {k}"),
                "Ask for fewer clusters, or cluster more rows.",
            );
        }
        let mean_sq: f64 = origin.sums.iter().map(|s| (s / n as f64).powi(2)).sum();
        let variance = ((origin.inertia / n as f64 - mean_sq) / d as f64).max(0.0);
        let tol = p.tol * variance;

        // k-means‖.
        let mut candidates: Vec<f32> = first;
        for round in 0..INIT_ROUNDS {
            progress.tick(|| format!("k-means|| round {} of {INIT_ROUNDS}, {} candidates", round + 1, candidates.len() / d));
            let psi = step(c, &q, &candidates, d).inertia;
            if psi <= 0.0 {
                break;
            }
            let drawn = rows_of(
                c,
                &q.draw,
                &[
                    (p.seed.wrapping_add(round as u64 + 1) as i64).into(),
                    sql::array_2d(&candidates, d),
                    psi.into(),
                    (OVERSAMPLING * k as f64).into(),
                ],
                Some(d),
                "draw k-means|| candidates",
            );
            if (candidates.len() / d + drawn.len()) * d * 4 > 1 << 30 {
                raise(PROGRAM_LIMIT_EXCEEDED, format!("k-means|| drew too many candidates from source {name}"), "Ask for fewer clusters.");
            }
            candidates.extend(drawn.into_iter().flatten());
        }
        let weights = step(c, &q, &candidates, d).counts;
        let mut centres = lloyd::weighted_kmeans(&candidates, &weights, d, k, LOCAL_ITERATIONS, p.seed);
        if centres.len() < k * d {
            // Fewer distinct candidates than clusters: more rows, in sampling-hash order.
            for r in rows_of(c, &q.first, &[(p.seed as i64).into(), ((2 * k) as i64).into()], Some(d), "pick more centres") {
                if centres.len() < k * d && !centres.chunks_exact(d).any(|c| c == r.as_slice()) {
                    centres.extend(r);
                }
            }
            while centres.len() < k * d {
                let again = centres[..d].to_vec();
                centres.extend(again);
            }
        }
        let init_ms = crate::shared::progress::ms(started);

        // Lloyd, or mini-batches.
        let mut step_ms = Vec::new();
        let mut converged = false;
        let mut n_iter = 0;
        let mut seen = vec![0.0f64; k];
        let mut stop = lloyd::MiniBatchStop::default();
        while n_iter < p.max_iter {
            let t = Instant::now();
            let s = match p.batch_size {
                None => step(c, &q, &centres, d),
                Some(b) => batch(c, &q, &centres, d, p.seed.wrapping_add(1000 + n_iter as u64), (b as f64 / n as f64).min(1.0)),
            };
            n_iter += 1;
            let shift = lloyd::update_centres(&mut centres, &s, p.batch_size.map(|_| seen.as_mut_slice()));
            step_ms.push(crate::shared::progress::ms(t));
            progress.tick(|| format!("iteration {n_iter}: inertia {:.6e}, centre shift {shift:.3e}", s.inertia));
            // Lloyd stops when the centres stopped moving; mini-batch also as scikit-learn's does.
            let stalled = p.batch_size.is_some() && stop.stalled(s.inertia, s.n(), n as f64);
            if stalled || shift <= tol {
                converged = true;
                break;
            }
        }
        let last = step(c, &q, &centres, d);

        // The quality sample.
        let fraction = (p.quality_sample as f64 / n as f64).min(1.0);
        let sample_rows = if p.quality_sample == 0 {
            Vec::new()
        } else {
            rows_of(c, &q.sample, &[((p.seed ^ 0x5111_0bad) as i64).into(), fraction.into()], Some(d), "draw the quality sample")
        };
        let sample: Vec<f32> = sample_rows.into_iter().flatten().collect();
        let sample_labels = sample.chunks_exact(d).map(|r| lloyd::nearest(r, &centres).0 as i32).collect();
        Fit {
            rows: n,
            dim: d,
            centroids: centres,
            sizes: last.counts.iter().map(|&c| c as i64).collect(),
            inertia: last.inertia,
            n_iter,
            converged,
            init_ms,
            step_ms,
            sample,
            sample_labels,
        }
    })
}

/// The per-cluster distance summaries a stored K-Means model keeps, from the assignments just
/// written (count, mean, population std, and `percentile_cont` at the artifact's quantile
/// levels, which interpolates as NumPy does): one aggregate query, sorting per cluster.
pub fn distance_summaries(run_id: i64, k: usize) -> Vec<serde_json::Value> {
    let mut out = vec![serde_json::json!({"count": 0}); k];
    Spi::connect(|c| {
        let t = spi(
            c.select(
                "SELECT a.cluster, pg_catalog.count(*), pg_catalog.avg(a.distance), pg_catalog.stddev_pop(a.distance),
                        pg_catalog.percentile_cont($2::double precision[]) WITHIN GROUP (ORDER BY a.distance)
                   FROM ml.cluster_assignments a
                  WHERE a.run_id OPERATOR(pg_catalog.=) $1 AND a.tenant_id OPERATOR(pg_catalog.=) ml.current_tenant()
                  GROUP BY a.cluster",
                None,
                &[run_id.into(), crate::shared::registry::quantile_levels().into()],
            ),
            "summarise the distances",
        );
        for row in t {
            let cluster = spi(row.get::<i32>(1), "summarise the distances").unwrap_or(-1);
            if cluster < 0 || cluster as usize >= k {
                continue;
            }
            out[cluster as usize] = serde_json::json!({
                "count": spi_some(row.get::<i64>(2), "summarise the distances"),
                "mean": spi(row.get::<f64>(3), "summarise the distances"),
                "std": spi(row.get::<f64>(4), "summarise the distances"),
                "quantiles": spi(row.get::<Vec<f64>>(5), "summarise the distances"),
            });
        }
    });
    out
}
