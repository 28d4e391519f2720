//! `ml.plot_run`: an SVG scatter of a run's points, coloured by cluster. Documented in
//! docs/functions/plot_run.md.

use crate::shared::errors::{raise, spi, spi_some, INVALID_PARAMETER_VALUE, NULL_VALUE_NOT_ALLOWED};
use crate::shared::guc;
use crate::shared::progress::Reporter;
use crate::shared::source::Source;
use mlkit::plot::{scatter, Labels, Point};
use mlkit::reduce::pca;
use mlkit::{rng::Rng, Exec, Matrix};
use pgrx::prelude::*;
use std::collections::HashMap;

/// Points drawn at most; larger runs are drawn from a sample of this many, seeded by the run id.
pub const MAX_POINTS: usize = 10_000;

/// An SVG scatter of run `run_id`: its first two coordinates (or, for a run without
/// coordinates, the first two principal components of the embeddings in `source`, which the
/// caller names: the run's own `source` column is the tenant's to edit, so it is never
/// followed — a more privileged role plotting the run would read what the tenant chose), one circle a
/// point, coloured by cluster, noise grey, with a legend of cluster sizes and the run's
/// description as title. Runs of more than 10,000 points are drawn from a seeded sample of
/// 10,000 (the legend counts every point). Stable: the same run draws the same picture.
#[pg_extern(
    stable,
    parallel_restricted,
    sql = r#"
CREATE FUNCTION ml.plot_run(run_id bigint, width int DEFAULT 800, height int DEFAULT 600, source regclass DEFAULT NULL) RETURNS text
STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
LANGUAGE c AS 'MODULE_PATHNAME', '@FUNCTION_NAME@';
COMMENT ON FUNCTION ml.plot_run IS
  'An SVG scatter plot of a run''s points (reduced coordinates, or the first two principal components), coloured by cluster.';
"#
)]
pub fn plot_run(run_id: Option<i64>, width: Option<i32>, height: Option<i32>, source: Option<pg_sys::Oid>) -> String {
    let named_source = source;
    let run_id =
        run_id.unwrap_or_else(|| raise(NULL_VALUE_NOT_ALLOWED, "run_id must not be NULL", "Pass the id of a run, e.g. ml.plot_run(42)."));
    let size = |arg: &str, v: Option<i32>, default: i32| -> u32 {
        let v = v.unwrap_or(default);
        if !(100..=10_000).contains(&v) {
            raise(
                INVALID_PARAMETER_VALUE,
                format!("{arg} must be between 100 and 10000 pixels, not {v}"),
                format!("Leave {arg} out for {default}."),
            );
        }
        v as u32
    };
    let (width, height) = (size("width", width, 800), size("height", height, 600));
    let run = Spi::connect(|c| {
        let t = spi(
            c.select(
                "SELECT analysis_type, coalesce(source, ''),
                        CASE WHEN analysis_type = 'prediction' AND model_name IS NOT NULL
                             THEN 'model ' || model_name || coalesce(' version ' || model_version, '')
                             ELSE coalesce(clustering_name, '') END,
                        coalesce(dim_reduction_name, ''),
                        pg_catalog.to_char(run_timestamp, 'YYYY-MM-DD HH24:MI'), metrics -> 'input' ->> 'embedding_column', metrics -> 'input' ->> 'id_column'
                   FROM ml.analysis_runs WHERE id = $1 AND tenant_id = ml.current_tenant()",
                None,
                &[run_id.into()],
            ),
            "read the run",
        );
        if t.is_empty() {
            return None;
        }
        let row = t.first();
        let get = |i: usize| spi_some(row.get::<String>(i), "read the run");
        let opt = |i: usize| spi(row.get::<String>(i), "read the run");
        Some((get(1), get(2), get(3), get(4), get(5), opt(6), opt(7)))
    });
    let Some((kind, source, clustering, reduction, when, emb_col, id_col)) = run else {
        raise(
            INVALID_PARAMETER_VALUE,
            format!("run_id {run_id} is not a run this session can see"),
            "Look the id up in ml.analysis_runs (runs of other tenants are not visible).",
        )
    };
    // Every point: (item, cluster, first two coordinates if any).
    let rows: Vec<RunPoint> = Spi::connect(|c| {
        let t = spi(
            c.select("SELECT item_id, cluster, coords[1:2] FROM ml.run_points WHERE run_id = $1 AND tenant_id = ml.current_tenant() ORDER BY item_id", None, &[run_id.into()]),
            "read the run's points",
        );
        t.map(|r| {
            (
                spi_some(r.get::<String>(1), "read the run's points"),
                spi(r.get::<i32>(2), "read the run's points"),
                spi(r.get::<Vec<f32>>(3), "read the run's points"),
            )
        })
        .collect()
    });
    if rows.is_empty() {
        raise(
            INVALID_PARAMETER_VALUE,
            format!("run_id {run_id} ({kind}) has no points to plot"),
            "Plot a run of ml.cluster_embeddings or ml.reduce_embeddings: they record a cluster or coordinates for every item.",
        );
    }
    let mut counts: HashMap<Option<i32>, usize> = HashMap::new();
    for r in &rows {
        *counts.entry(r.1).or_default() += 1;
    }
    let mut sizes: Vec<(Option<i32>, usize)> = counts.into_iter().collect();
    sizes.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let keep: Vec<usize> = if rows.len() > MAX_POINTS {
        let mut s = Rng::new(run_id as u64).sample_indices(rows.len(), MAX_POINTS);
        s.sort_unstable();
        s
    } else {
        (0..rows.len()).collect()
    };
    let has_coords = rows.iter().any(|r| r.2.as_ref().is_some_and(|c| !c.is_empty()));
    let (points, axes) = if has_coords {
        let pts = keep
            .iter()
            .filter_map(|&i| {
                let c = rows[i].2.as_ref()?;
                Some(Point {
                    x: f64::from(*c.first()?),
                    y: c.get(1).map_or(0.0, |&v| f64::from(v)),
                    cluster: rows[i].1,
                    id: rows[i].0.clone(),
                })
            })
            .collect();
        let method = if reduction.is_empty() { "reduced".to_string() } else { reduction.to_uppercase() };
        (pts, (format!("{method} 1"), format!("{method} 2"), format!("{method} coordinates 1 and 2")))
    } else {
        (
            principal_points(run_id, named_source, emb_col, id_col, &rows, &keep),
            ("PC1".to_string(), "PC2".to_string(), "first two principal components of the embeddings".to_string()),
        )
    };
    let mut title = format!("Run {run_id}: {kind}");
    if !clustering.is_empty() {
        title.push_str(&format!(" ({clustering}"));
        if !reduction.is_empty() {
            title.push_str(&format!(" on {reduction}"));
        }
        title.push(')');
    } else if !reduction.is_empty() {
        title.push_str(&format!(" ({reduction})"));
    }
    if !source.is_empty() {
        title.push_str(&format!(" of {source}"));
    }
    // What the picture leaves out, and why: a sample of a large run, and items the run has no
    // coordinates for or that are no longer in the source.
    let mut shown = if keep.len() < rows.len() {
        format!("{} of {} items shown (a sample of {MAX_POINTS})", points.len(), rows.len())
    } else {
        format!("{} items", rows.len())
    };
    let missing = keep.len() - points.len();
    if missing > 0 {
        shown.push_str(&format!(
            ", {missing} not drawn ({})",
            if has_coords { "no coordinates" } else { "no longer in the source, or without an embedding" }
        ));
    }
    let (x_axis, y_axis, axes) = axes;
    let subtitle = format!("{when} · {shown} · {axes}");
    let keywords = cluster_words(run_id);
    scatter(
        &points,
        &sizes,
        &Labels { title: &title, subtitle: &subtitle, x_axis: &x_axis, y_axis: &y_axis, width, height, keywords: &keywords },
    )
}

/// Each cluster's top words, where `ml.cluster_keywords` has stored them for the run (none
/// while the schema is older than this library, before ALTER EXTENSION ... UPDATE).
fn cluster_words(run_id: i64) -> Vec<(i32, String)> {
    Spi::connect(|c| {
        let has = spi(
            c.select(
                "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                                 WHERE a.attrelid OPERATOR(pg_catalog.=) pg_catalog.to_regclass('ml.cluster_summaries')
                                   AND a.attname OPERATOR(pg_catalog.=) 'keywords' AND NOT a.attisdropped)",
                None,
                &[],
            ),
            "find the clusters' keywords",
        );
        if !spi(has.first().get_one::<bool>(), "find the clusters' keywords").unwrap_or(false) {
            return vec![];
        }
        let t = spi(
            c.select(
                "SELECT s.cluster, pg_catalog.array_to_string(s.keywords[1:5], ', ')
                   FROM ml.cluster_summaries s
                  WHERE s.run_id OPERATOR(pg_catalog.=) $1 AND s.tenant_id OPERATOR(pg_catalog.=) ml.current_tenant()
                    AND pg_catalog.cardinality(s.keywords) OPERATOR(pg_catalog.>) 0",
                None,
                &[run_id.into()],
            ),
            "read the clusters' keywords",
        );
        t.map(|r| (spi_some(r.get::<i32>(1), "read the clusters' keywords"), spi_some(r.get::<String>(2), "read the clusters' keywords")))
            .collect()
    })
}

/// A point of a run: its item, its cluster, its first two coordinates if it has any.
type RunPoint = (String, Option<i32>, Option<Vec<f32>>);

/// For a run without coordinates: the embeddings of `source` (named by the caller) on their
/// first two principal components, for the kept rows whose items are in it.
fn principal_points(
    run_id: i64,
    source: Option<pg_sys::Oid>,
    emb_col: Option<String>,
    id_col: Option<String>,
    rows: &[RunPoint],
    keep: &[usize],
) -> Vec<Point> {
    let Some(oid) = source else {
        raise(
            INVALID_PARAMETER_VALUE,
            format!("run_id {run_id} has no coordinates: name the relation that holds its embeddings"),
            "Pass it, e.g. ml.plot_run(42, source => 'items'): it is read with your privileges and drawn on its first two principal components. Runs with a reduction keep their coordinates and need none.",
        )
    };
    let (Some(emb_col), Some(id_col)) = (emb_col, id_col) else {
        raise(
            INVALID_PARAMETER_VALUE,
            format!("run_id {run_id} has no coordinates and does not record which columns it read"),
            "Runs of ml.cluster_embeddings and ml.reduce_embeddings record them; re-run the analysis to plot it.",
        )
    };
    let plan = |rows: usize, dim: usize| rows * dim * 4 + dim * dim * 8;
    let src = Source::within_memory_limit(oid, &emb_col, &id_col, &plan, crate::shared::params::Nulls::Skip);
    let name = src.display_name();
    let mut progress = Reporter::new(format!("ml.plot_run({run_id})"));
    let emb = src.read(&name, &mut progress);
    let Some(x) = Matrix::new(&emb.data, emb.ids.len(), emb.dim) else { return vec![] };
    let k = 2.min(emb.dim).min(emb.ids.len());
    let mut exec = Exec::new(guc::threads(), &mut progress);
    let coords = match pca::fit(&x, &pca::Params { seed: run_id as u64, ..pca::Params::count(k.max(1)) }, &mut exec) {
        Ok(p) => p.transform(&x, &exec),
        Err(_) => vec![0.0; emb.ids.len() * k.max(1)],
    };
    let k = k.max(1);
    let at: HashMap<&str, usize> = emb.ids.iter().enumerate().map(|(i, id)| (id.as_str(), i)).collect();
    keep.iter()
        .filter_map(|&i| {
            let r = at.get(rows[i].0.as_str())?;
            Some(Point { x: coords[r * k], y: if k > 1 { coords[r * k + 1] } else { 0.0 }, cluster: rows[i].1, id: rows[i].0.clone() })
        })
        .collect()
}
