//! `ml.cluster_keywords`: the terms that name each cluster of a run, by BERTopic's
//! class-based TF-IDF over the run's documents ([`mlkit::text`]), kept in the run's
//! `ml.cluster_summaries` rows. Documented in docs/functions/cluster_keywords.md.

use crate::shared::errors::{
    literal, raise, spi, spi_some, DATATYPE_MISMATCH, INVALID_PARAMETER_VALUE, NULL_VALUE_NOT_ALLOWED, PROGRAM_LIMIT_EXCEEDED,
};
use crate::shared::guc;
use crate::shared::params::{opt, Opt, Options};
use crate::shared::progress::Reporter;
use crate::shared::source::{display_name, Relation};
use crate::shared::sql;
use mlkit::text::{Accumulator, AnalyzerOptions, Error, Keywords, MinDf, StopWords};
use pgrx::prelude::*;
use serde_json::Value;
use std::ffi::CStr;

/// What `params` may hold: the parser's defaults and `ml.options`' rows.
pub const PARAM_OPTS: &[Opt] = &[
    opt("top_n", "10", "terms kept per cluster, best first"),
    opt("stop_words", "null", "words left out: null (none, as CountVectorizer()), \"english\" (scikit-learn's list of 318), or a JSON array of words"),
    opt("ngram_range", "[1, 1]", "[min_n, max_n]: the lengths of the word sequences counted as terms, as CountVectorizer's ngram_range"),
    opt("lowercase", "true", "lower-case the text before finding words (str.lower())"),
    opt("min_df", "1", "keep a term only if this many clusters use it (a whole number), or this share of the clusters (a number below 1): BERTopic's min_df"),
    opt("min_documents", "1", "keep a term only if this many documents use it; above 1 the documents are read twice and memory stays bounded by the terms that can qualify"),
    opt("bm25_weighting", "false", "BERTopic's bm25_weighting: idf = ln(1 + (A - f + 0.5) / (f + 0.5))"),
    opt("reduce_frequent_words", "false", "BERTopic's reduce_frequent_words: the square root of the term frequencies"),
    opt("ngrams_span_documents", "true", "n-grams may join the last words of one document to the first of the next in its cluster, as in BERTopic's joined documents"),
    opt("bertopic_preprocess", "false", "first keep only ASCII letters, digits and spaces, as BERTopic's fit does for English"),
];

/// Bytes of the first pass's counters when `min_documents` is above 1 (at most an eighth of
/// `pg_mlkit.max_memory_mb`).
const SKETCH_BYTES: usize = 32 << 20;

fn parse_params(value: Option<&Value>) -> mlkit::text::Options {
    let o = Options::new("params", value, PARAM_OPTS, "ml.cluster_keywords");
    let stop_words = match o.get("stop_words") {
        None | Some(Value::Null) => StopWords::None,
        Some(Value::String(s)) if s == "english" => StopWords::English,
        Some(Value::Array(words)) => StopWords::Custom(
            words
                .iter()
                .map(|w| match w {
                    Value::String(s) => s.clone(),
                    other => raise(
                        INVALID_PARAMETER_VALUE,
                        format!("params.stop_words must hold strings, not {}", literal(&other.to_string())),
                        "Pass e.g. {\"stop_words\": [\"the\", \"a\"]}.",
                    ),
                })
                .collect(),
        ),
        Some(other) => raise(
            INVALID_PARAMETER_VALUE,
            format!("params.stop_words must be null, \"english\" or an array of words, not {}", literal(&other.to_string())),
            "Pass {\"stop_words\": \"english\"} for scikit-learn's English list, or a JSON array of your own words.",
        ),
    };
    let ngram_range = match o.get("ngram_range") {
        None => (1, 1),
        Some(Value::Array(v)) if v.len() == 2 && v.iter().all(|x| x.as_u64().is_some_and(|n| (1..=8).contains(&n))) => {
            let (lo, hi) = (v[0].as_u64().unwrap_or(1) as usize, v[1].as_u64().unwrap_or(1) as usize);
            if lo > hi {
                raise(
                    INVALID_PARAMETER_VALUE,
                    format!("params.ngram_range [{lo}, {hi}] has its smaller length second"),
                    "Write [min_n, max_n] with min_n <= max_n, e.g. [1, 2] for single words and pairs.",
                );
            }
            (lo, hi)
        }
        Some(other) => raise(
            INVALID_PARAMETER_VALUE,
            format!("params.ngram_range must be [min_n, max_n] with whole numbers from 1 to 8, not {}", literal(&other.to_string())),
            "Pass e.g. {\"ngram_range\": [1, 2]} for single words and pairs of words.",
        ),
    };
    let min_df = match o.get("min_df") {
        None => MinDf::Count(1),
        Some(Value::Number(n)) if n.as_u64().is_some() => MinDf::Count(n.as_u64().unwrap_or(1)),
        Some(Value::Number(n)) if n.as_f64().is_some_and(|p| (0.0..1.0).contains(&p)) => MinDf::Proportion(n.as_f64().unwrap_or(0.0)),
        Some(other) => raise(
            INVALID_PARAMETER_VALUE,
            format!("params.min_df must be a whole number of clusters or a share between 0 and 1, not {}", literal(&other.to_string())),
            "Pass e.g. {\"min_df\": 2} (used by at least two clusters) or {\"min_df\": 0.1} (by a tenth of them).",
        ),
    };
    mlkit::text::Options {
        analyzer: AnalyzerOptions {
            lowercase: o.boolean("lowercase"),
            ngram_range,
            stop_words,
            bertopic_preprocess: o.boolean("bertopic_preprocess"),
        },
        ngrams_span_documents: o.boolean("ngrams_span_documents"),
        min_df,
        min_documents: o.integer("min_documents", 1, i64::from(i32::MAX)) as u64,
        bm25_weighting: o.boolean("bm25_weighting"),
        reduce_frequent_words: o.boolean("reduce_frequent_words"),
        top_n: o.integer("top_n", 1, 1000) as usize,
    }
}

/// The terms that set each cluster of run `run_id` apart, computed from `text_column` of the
/// rows of `source` the run clustered (joined on `id_column`), and kept in the run's
/// `ml.cluster_summaries` rows (`keywords`, `keyword_weights`).
#[pg_extern(
    volatile,
    parallel_unsafe,
    sql = r#"
CREATE FUNCTION ml.cluster_keywords(
    run_id bigint,
    source regclass,
    text_column name DEFAULT 'text',
    params jsonb DEFAULT '{}',
    id_column name DEFAULT NULL
) RETURNS TABLE (cluster integer, rank integer, term text, weight double precision)
VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
LANGUAGE c AS 'MODULE_PATHNAME', '@FUNCTION_NAME@';
COMMENT ON FUNCTION ml.cluster_keywords IS
  'The top terms of each cluster of a run by class-based TF-IDF (as BERTopic over scikit-learn''s CountVectorizer), from a text column of the clustered rows; also stored in ml.cluster_summaries.';
"#
)]
#[allow(clippy::type_complexity)]
fn cluster_keywords(
    run_id: Option<i64>,
    source: Option<pg_sys::Oid>,
    text_column: Option<&CStr>,
    params: Option<crate::shared::params::Jsonb>,
    id_column: Option<&CStr>,
) -> TableIterator<'static, (name!(cluster, i32), name!(rank, i32), name!(term, String), name!(weight, f64))> {
    let f = "ml.cluster_keywords";
    let run_id = run_id.unwrap_or_else(|| {
        raise(
            NULL_VALUE_NOT_ALLOWED,
            format!("{f}: run_id must not be NULL"),
            "Pass the id of a clustering run, as ml.cluster_embeddings returned it.",
        )
    });
    let source = source.unwrap_or_else(|| {
        raise(
            NULL_VALUE_NOT_ALLOWED,
            format!("{f}: source must not be NULL"),
            "Pass the table or view that holds the documents, e.g. 'docs'.",
        )
    });
    let text_column = super::required_name("text_column", text_column);
    let options = parse_params(params.map(|j| j.value(f, "params")).as_ref());
    let recorded_id = run_id_column(run_id);
    let id_column = match id_column {
        Some(c) => super::required_name("id_column", Some(c)),
        None => recorded_id.unwrap_or_else(|| "id".to_string()),
    };

    let name = display_name(source);
    let query = Spi::connect(|c| {
        let rel = Relation::open(c, source, &name, "Pass the table or view that holds the documents, e.g. source => 'docs'.");
        let id = rel.column("id_column", &id_column).clone();
        let text = rel.column("text_column", &text_column);
        if ![pg_sys::TEXTOID, pg_sys::VARCHAROID, pg_sys::BPCHAROID].contains(&text.base) {
            raise(
                DATATYPE_MISMATCH,
                format!("text_column {} of source {name} has type {}, not text", literal(&text_column), text.type_name),
                "Name a column of type text, varchar or char, or a view that casts it: SELECT id, body::text AS text FROM ...",
            );
        }
        let id_q = sql::column(&id_column);
        let order = rel.order_by(c, &id, &id_q);
        let order = order.strip_prefix("ORDER BY ").unwrap_or(&order);
        // Documents in cluster order, and in id order within a cluster: the order BERTopic
        // would join them in had they been given sorted by id.
        format!(
            "SELECT a.cluster::pg_catalog.int8, {}::pg_catalog.text
               FROM ml.cluster_assignments a
               JOIN {} AS {} ON {id_q}::pg_catalog.text OPERATOR(pg_catalog.=) a.item_id
              WHERE a.run_id OPERATOR(pg_catalog.=) {run_id}::pg_catalog.int8
                AND a.tenant_id OPERATOR(pg_catalog.=) ml.current_tenant()
              ORDER BY a.cluster, {order}",
            sql::column(&text_column),
            sql::relation(c, rel.oid),
            sql::ALIAS
        )
    });

    let mut progress = Reporter::new(format!("{f}({run_id}, {name})"));
    let limit = guc::max_memory_bytes();
    let failed = |e: Error| -> ! {
        let hint = match e {
            Error::EmptyVocabulary => {
                "The documents hold no word of two or more letters once stop words are removed; check text_column and stop_words."
            }
            Error::NoTermsRemain | Error::MinDfAboveClusters { .. } => "Lower params.min_df or params.min_documents.",
            _ => "Check params against ml.options('cluster_keywords').",
        };
        raise(INVALID_PARAMETER_VALUE, format!("{f}: the documents of source {name}: {e}"), hint)
    };
    let mut acc = if options.min_documents > 1 {
        // First pass: which terms can reach min_documents, in a fixed amount of memory.
        let mut sketch = Accumulator::sketch(&options, SKETCH_BYTES.min(limit / 8).max(1 << 16)).unwrap_or_else(|e| failed(e));
        feed(&query, &mut progress, "first pass", |label, text| {
            sketch.add(label, text);
            Ok(sketch.memory_bytes())
        });
        Accumulator::with_sketch(options.clone(), sketch).unwrap_or_else(|e| failed(e))
    } else {
        Accumulator::new(options.clone()).unwrap_or_else(|e| failed(e))
    };
    let (documents, skipped) = feed(&query, &mut progress, "counting terms", |label, text| {
        acc.add(label, text)?;
        Ok(acc.memory_bytes())
    })
    .into_counts(limit, &name)
    .unwrap_or_else(|e| failed(e));
    if documents == 0 {
        raise(
            INVALID_PARAMETER_VALUE,
            format!("{f}: no row of source {name} belongs to run {run_id}"),
            format!(
                "Pass the source the run clustered, and its id column (id_column => ...; the run recorded {}). Rows are matched on the id's text.",
                literal(&id_column)
            ),
        );
    }
    if skipped > 0 {
        crate::shared::errors::notice(
            format!(
                "{f}: {skipped} {} with a NULL {} left out",
                if skipped == 1 { "document" } else { "documents" },
                literal(&text_column)
            ),
            "Their items keep their clusters; only the terms of the other documents are counted.",
        );
    }
    let keywords = acc.finish(&mut progress).unwrap_or_else(|e| failed(e));
    store(run_id, &keywords);
    let rows: Vec<(i32, i32, String, f64)> = keywords
        .clusters
        .into_iter()
        .flat_map(|c| c.terms.into_iter().enumerate().map(move |(r, (t, w))| (c.label as i32, r as i32 + 1, t, w)))
        .collect();
    TableIterator::new(rows)
}

/// The id column run `run_id` read, as it recorded it; raises if the run is not one of this
/// tenant's with cluster assignments.
fn run_id_column(run_id: i64) -> Option<String> {
    let found = Spi::connect(|c| {
        let t = spi(
            c.select(
                "SELECT r.analysis_type, r.metrics OPERATOR(pg_catalog.->) 'input' OPERATOR(pg_catalog.->>) 'id_column',
                        EXISTS (SELECT 1 FROM ml.cluster_assignments x
                                 WHERE x.run_id OPERATOR(pg_catalog.=) r.id AND x.tenant_id OPERATOR(pg_catalog.=) r.tenant_id)
                   FROM ml.analysis_runs r
                  WHERE r.id OPERATOR(pg_catalog.=) $1 AND r.tenant_id OPERATOR(pg_catalog.=) ml.current_tenant()",
                None,
                &[run_id.into()],
            ),
            "read the run",
        );
        if t.is_empty() {
            return None;
        }
        let row = t.first();
        Some((
            spi_some(row.get::<String>(1), "read the run"),
            spi(row.get::<String>(2), "read the run"),
            spi_some(row.get::<bool>(3), "read the run"),
        ))
    });
    let Some((kind, id_column, clustered)) = found else {
        raise(
            INVALID_PARAMETER_VALUE,
            format!("ml.cluster_keywords: run_id {run_id} is not a run this session can see"),
            "Look the id up in ml.analysis_runs (runs of other tenants are not visible).",
        )
    };
    if !clustered {
        raise(
            INVALID_PARAMETER_VALUE,
            format!("ml.cluster_keywords: run_id {run_id} ({kind}) assigned no items to clusters"),
            "Name a run of ml.cluster_embeddings or ml.predict_clusters: they record a cluster for every item.",
        );
    }
    id_column
}

/// What one read of the documents gave: the documents fed, those with a NULL text, and the
/// first error (the accumulator's, or the memory limit's).
struct Fed {
    documents: u64,
    skipped: u64,
    failure: Option<Failure>,
}

enum Failure {
    Text(Error),
    Memory(usize),
}

impl Fed {
    /// The documents and skipped rows, or the counting's error; over the memory limit raises.
    fn into_counts(self, limit: usize, name: &str) -> Result<(u64, u64), Error> {
        match self.failure {
            Some(Failure::Text(e)) => Err(e),
            Some(Failure::Memory(bytes)) => raise(
                PROGRAM_LIMIT_EXCEEDED,
                format!(
                    "ml.cluster_keywords: counting the terms of source {name} needs more than {} MB ({} documents read), over pg_mlkit.max_memory_mb ({} MB)",
                    bytes >> 20,
                    self.documents,
                    limit >> 20
                ),
                "Prune rare terms with params.min_documents (e.g. 5: the documents are then read twice in bounded memory), count single words only (ngram_range [1, 1]), or raise pg_mlkit.max_memory_mb.",
            ),
            None => Ok((self.documents, self.skipped)),
        }
    }
}

/// Reads every (cluster, text) row of `query` into `add`, which returns the bytes its counts
/// take; stops at the first error or once they pass `pg_mlkit.max_memory_mb`.
fn feed(query: &str, progress: &mut Reporter, stage: &str, mut add: impl FnMut(i64, &str) -> Result<usize, Error>) -> Fed {
    let limit = guc::max_memory_bytes();
    let mut fed = Fed { documents: 0, skipped: 0, failure: None };
    Spi::connect(|c| {
        crate::shared::source::for_each_batch(c, query, |batch| {
            progress.tick(|| format!("{stage}: {} documents read", fed.documents));
            let mut bytes = 0;
            for row in batch.rows {
                if fed.failure.is_some() {
                    break;
                }
                let label = spi_some(row.get::<i64>(1), "read a cluster");
                let Some(text) = spi(row.get::<&str>(2), "read a document") else {
                    fed.skipped += 1;
                    continue;
                };
                match add(label, text) {
                    Ok(b) if b > limit => fed.failure = Some(Failure::Memory(b)),
                    Ok(b) => bytes = b,
                    Err(e) => fed.failure = Some(Failure::Text(e)),
                }
                fed.documents += 1;
            }
            bytes
        })
    });
    fed
}

/// Keeps each cluster's terms in its `ml.cluster_summaries` row, adding rows (with the
/// cluster's size) for a run that has none, as a run written before summaries existed.
fn store(run_id: i64, keywords: &Keywords) {
    Spi::connect_mut(|c| {
        spi(
            c.update(
                "INSERT INTO ml.cluster_summaries (run_id, cluster, size)
                 SELECT a.run_id, a.cluster, pg_catalog.count(*) FROM ml.cluster_assignments a
                  WHERE a.run_id OPERATOR(pg_catalog.=) $1 AND a.tenant_id OPERATOR(pg_catalog.=) ml.current_tenant()
                  GROUP BY a.run_id, a.cluster
                 ON CONFLICT DO NOTHING",
                None,
                &[run_id.into()],
            ),
            "add the run's cluster summaries",
        );
        for k in &keywords.clusters {
            let terms: Vec<String> = k.terms.iter().map(|t| t.0.clone()).collect();
            let weights: Vec<f64> = k.terms.iter().map(|t| t.1).collect();
            spi(
                c.update(
                    "UPDATE ml.cluster_summaries SET keywords = $3, keyword_weights = $4
                      WHERE run_id OPERATOR(pg_catalog.=) $1 AND cluster OPERATOR(pg_catalog.=) $2
                        AND tenant_id OPERATOR(pg_catalog.=) ml.current_tenant()",
                    None,
                    &[run_id.into(), (k.label as i32).into(), terms.into(), weights.into()],
                ),
                "store the keywords",
            );
        }
    });
}
