//! Reading `(id, embedding)` rows from a table or view the caller names.
//!
//! The relation comes in as a `regclass` and the columns as `name`s; the query is built by
//! [`crate::shared::sql`] (quoted identifiers, the relation qualified from the catalog, every type and
//! function qualified), and it runs with the caller's privileges. Rows are fetched through a cursor in batches
//! whose SPI memory is freed as soon as they are copied, so the footprint is the dense
//! matrix (`rows × dim × 4` bytes) plus the ids; the caller's memory plan is checked after
//! every batch, so oversized input is refused early, not after the server ran out.

use crate::shared::errors::{
    literal, raise, spi, spi_some, ARRAY_SUBSCRIPT_ERROR, DATATYPE_MISMATCH, INVALID_PARAMETER_VALUE, NULL_VALUE_NOT_ALLOWED,
    PROGRAM_LIMIT_EXCEEDED, UNDEFINED_COLUMN, UNIQUE_VIOLATION, WRONG_OBJECT_TYPE,
};
use crate::shared::progress::Reporter;
use crate::shared::sql;
use pgrx::array::RawArray;
use pgrx::prelude::*;
use pgrx::FromDatum;
use std::collections::HashSet;
use std::ptr::NonNull;

/// Rows per cursor fetch at most, and at first (see [`next_batch`]).
const BATCH_ROWS: usize = 8192;
const FIRST_BATCH_ROWS: usize = 64;
/// What one fetch may hold in PostgreSQL's memory, roughly: a fetch is sized from the bytes
/// the rows read so far took, so that a table of long ids or wide embeddings is read in small
/// batches, not 8,192 rows at a time.
const BATCH_BYTES: usize = 32 << 20;

/// Rows for the next fetch, given `rows` rows of `bytes` bytes read so far.
fn next_batch(rows: usize, bytes: usize) -> i64 {
    if rows == 0 {
        return FIRST_BATCH_ROWS as i64;
    }
    let per_row = (bytes / rows).max(1);
    (BATCH_BYTES / per_row).clamp(16, BATCH_ROWS) as i64
}

/// One fetch of [`for_each_batch`]: the rows, through pgrx's accessors (which check each
/// column's type), or raw for a loop that decodes millions of values.
pub struct Batch<'a> {
    pub rows: pgrx::spi::SpiTupleTable<'a>,
    raw: *mut pg_sys::SPITupleTable,
}

impl Batch<'_> {
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Never true: [`for_each_batch`] stops at the first empty fetch.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The batch's tuple descriptor and tuples, for `SPI_getbinval` after
    /// [`sql::expect_type`] has checked the column.
    ///
    /// # Safety
    /// The slice lives as long as the batch; a datum read from it must not outlive it.
    pub unsafe fn raw(&self) -> (pg_sys::TupleDesc, &[*mut pg_sys::HeapTupleData]) {
        // SAFETY: the table the fetch made, of `len()` rows, not yet freed.
        unsafe { ((*self.raw).tupdesc, std::slice::from_raw_parts((*self.raw).vals, self.len())) }
    }
}

/// The one loop that reads a query's rows: through a cursor, a batch at a time. Before each
/// fetch it checks for interrupts and sizes the fetch from the rows and bytes kept so far
/// (64 rows first, then what fits in 32 MB, at most 8,192), so that long ids or wide
/// embeddings are read a few at a time; `batch` copies what it keeps out of the rows (and
/// checks the caller's memory plan) and returns the bytes it keeps in all; the batch's SPI
/// memory is freed before the next fetch, so the footprint is what the caller keeps.
pub fn for_each_batch(c: &pgrx::spi::SpiClient<'_>, query: &str, mut batch: impl FnMut(Batch<'_>) -> usize) {
    let mut cursor = spi(c.try_open_cursor(query, &[]), "open a cursor");
    let (mut rows, mut bytes) = (0usize, 0usize);
    loop {
        pgrx::check_for_interrupts!();
        let table = spi(cursor.fetch(next_batch(rows, bytes)), "fetch rows");
        // SAFETY: the fetch just set SPI_tuptable to the table `table` reads.
        let raw = unsafe { pg_sys::SPI_tuptable };
        let fetched = table.len();
        if fetched > 0 {
            bytes = batch(Batch { rows: table, raw });
            rows += fetched;
        }
        // SAFETY: the batch is gone (it borrowed the cursor, which is used again only below);
        // nothing read from it is kept.
        unsafe {
            if !raw.is_null() {
                pg_sys::SPI_freetuptable(raw);
            }
            pg_sys::SPI_tuptable = std::ptr::null_mut();
        }
        if fetched == 0 {
            break;
        }
    }
}

/// `text` copied into a `String` with a fallible allocation: an id or category of any length
/// is an error (53200) when the server cannot give its room, never an abort. `what` names the
/// call and its input for the message (built only on failure).
pub fn owned_text(text: &str, what: impl FnOnce() -> String) -> String {
    let mut s = String::new();
    if s.try_reserve_exact(text.len()).is_err() {
        crate::shared::errors::out_of_memory(text.len(), &what());
    }
    s.push_str(text);
    s
}

/// The rows of a source, densely packed.
pub struct Embeddings {
    /// Every row's id, as text.
    pub ids: Vec<String>,
    /// Bytes the ids take (their text and their `String`s): counted in the memory plan.
    pub id_bytes: usize,
    /// `ids.len() × dim` values, row-major.
    pub data: Vec<f32>,
    pub dim: usize,
}

/// A source's quoted query parts (see [`Source::scan_parts`]).
pub struct ScanParts {
    /// The relation, qualified, with its alias: `"public"."items" AS _ml_src`.
    pub from: String,
    /// The embedding column cast to `real[]` (a `sparsevec` through `vector`), for the rows
    /// read back (draws, samples).
    pub embedding: String,
    /// The embedding column as the scale-out functions (`ml.kmeans_step`,
    /// `ml.nearest_centroid`, `ml.centroid_distance`) take it: a pgvector column as it is
    /// stored (read from its bytes), anything else as `embedding`.
    pub native: String,
    /// The id column cast to `text`.
    pub id: String,
    /// The columns' names, for messages.
    pub embedding_column: String,
    pub id_column: String,
}

/// A source as [`Source::read_for`] read it.
pub struct Read {
    /// [`display_name`], for messages.
    pub name: String,
    /// [`qualified_name`], for the run row.
    pub qualified: String,
    pub emb: Embeddings,
    pub progress: Reporter,
    pub read_ms: f64,
}

/// Where the rows come from and what they may cost.
pub struct Source<'a> {
    pub relation: pg_sys::Oid,
    pub embedding_column: &'a str,
    pub id_column: &'a str,
    /// Bytes the whole call will need for `rows × dim` input; checked against the limit.
    pub plan_bytes: &'a dyn Fn(usize, usize) -> usize,
    pub limit_bytes: usize,
    /// Rows whose embedding is NULL: refused, or left out of every query (`params.nulls`).
    pub nulls: crate::shared::params::Nulls,
}

impl<'a> Source<'a> {
    /// A source read into memory under `pg_mlkit.max_memory_mb`, its plan `plan_bytes`.
    pub fn within_memory_limit(
        relation: pg_sys::Oid,
        embedding_column: &'a str,
        id_column: &'a str,
        plan_bytes: &'a dyn Fn(usize, usize) -> usize,
        nulls: crate::shared::params::Nulls,
    ) -> Self {
        Source { relation, embedding_column, id_column, plan_bytes, limit_bytes: crate::shared::guc::max_memory_bytes(), nulls }
    }

    /// A source only scanned by queries (never read here): no memory plan.
    pub fn scanned(relation: pg_sys::Oid, embedding_column: &'a str, id_column: &'a str, nulls: crate::shared::params::Nulls) -> Self {
        Source { relation, embedding_column, id_column, plan_bytes: &|_, _| 0, limit_bytes: usize::MAX, nulls }
    }
    /// The relation's name as SQL should write it (see [`display_name`]).
    pub fn display_name(&self) -> String {
        display_name(self.relation)
    }

    /// The relation's schema-qualified name (see [`qualified_name`]).
    pub fn qualified_name(&self) -> String {
        qualified_name(self.relation)
    }

    /// What an analysis function `func` starts with: the source's names, a progress reporter
    /// named `func(source)` for the rest of the call, every row, and how long reading took.
    pub fn read_for(&self, func: &str) -> Read {
        let name = self.display_name();
        let qualified = self.qualified_name();
        let mut progress = Reporter::new(format!("{func}({name})"));
        let started = std::time::Instant::now();
        let emb = self.read(&name, &mut progress);
        Read { read_ms: crate::shared::progress::ms(started), name, qualified, emb, progress }
    }

    /// Checks the relation and columns, then reads every row; `name` is
    /// [`Source::display_name`], for messages.
    pub fn read(&self, name: &str, progress: &mut Reporter) -> Embeddings {
        let (query, encoding) = Spi::connect(|c| self.check_and_build_query(c, name));
        Spi::connect(|c| self.fetch_all(c, &query, encoding, name, progress))
    }

    /// The source's parts for queries that scan it without reading it here (checked as
    /// [`Source::read`] checks them): the relation with its alias [`sql::ALIAS`], the
    /// embedding as `real[]`, the id as `text`, each quoted and qualified by [`crate::shared::sql`].
    pub fn scan_parts(&self, name: &str) -> ScanParts {
        Spi::connect(|c| {
            let (_, _, encoding) = self.check(c, name);
            let column = sql::column(self.embedding_column);
            // Rows read back are real[]: a sparsevec gets there through pgvector's vector.
            let sparse = matches!(encoding, Encoding::Pgvector(mlkit::vector_formats::VectorType::SparseVec, _));
            let embedding = match sparse.then(|| crate::shared::pgvector::vector_type_name(c)).flatten() {
                Some(vector) => format!("{column}::{vector}::real[]"),
                None => format!("{column}::real[]"),
            };
            // Under Citus a pgvector column is cast too: its shards run only aggregates
            // declared for the call's types (ml.kmeans_step_real), never a polymorphic one.
            let native = match encoding {
                Encoding::Pgvector(..) if !crate::shared::citus::installed(c) => column.clone(),
                _ => embedding.clone(),
            };
            ScanParts {
                native,
                from: format!("{} AS {}", self.rows(c), sql::ALIAS),
                embedding,
                id: format!("{}::pg_catalog.text", sql::column(self.id_column)),
                embedding_column: self.embedding_column.to_string(),
                id_column: self.id_column.to_string(),
            }
        })
    }

    /// The read query, and how its first column is decoded: a pgvector column as it is
    /// stored, anything else through its cast to `real[]`.
    fn check_and_build_query(&self, c: &pgrx::spi::SpiClient<'_>, name: &str) -> (String, Encoding) {
        let (rel, id, encoding) = self.check(c, name);
        let (idc, emb) = (sql::column(self.id_column), sql::column(self.embedding_column));
        let order = rel.order_by(c, &id, &idc);
        let emb = match encoding {
            Encoding::RealArray => format!("{emb}::real[]"),
            Encoding::Pgvector(..) => emb,
        };
        (format!("SELECT {emb}, {idc}::pg_catalog.text FROM {} AS {} {order}", self.rows(c), sql::ALIAS), encoding)
    }

    /// The rows every query reads: the relation, or with `nulls` skip the subquery of its
    /// rows that have an embedding.
    fn rows(&self, c: &pgrx::spi::SpiClient<'_>) -> String {
        let rel = sql::relation(c, self.relation);
        match self.nulls {
            crate::shared::params::Nulls::Error => rel,
            crate::shared::params::Nulls::Skip => {
                format!("(SELECT * FROM {rel} WHERE {} IS NOT NULL)", sql::ident(self.embedding_column))
            }
        }
    }

    /// `metrics.input` of a run: the columns read, and with `nulls` skip how many rows
    /// without an embedding were left out.
    pub fn input_metrics(&self) -> serde_json::Value {
        let mut m = serde_json::json!({"embedding_column": self.embedding_column, "id_column": self.id_column});
        if self.nulls == crate::shared::params::Nulls::Skip {
            m["nulls"] = "skip".into();
            m["skipped"] = self.skipped().into();
        }
        m
    }

    /// How many rows the relation holds without an embedding: what `nulls` skip left out
    /// (0 without reading when nulls are refused, since a call that got this far read none).
    pub fn skipped(&self) -> i64 {
        if self.nulls == crate::shared::params::Nulls::Error {
            return 0;
        }
        Spi::connect(|c| {
            let q = format!(
                "SELECT pg_catalog.count(*) FROM {} AS {} WHERE {} IS NULL",
                sql::relation(c, self.relation),
                sql::ALIAS,
                sql::column(self.embedding_column)
            );
            let t = spi(c.select(&q, None, &[]), "count the rows without an embedding");
            spi(t.first().get_one::<i64>(), "count the rows without an embedding").unwrap_or(0)
        })
    }

    /// Checks the relation and its two columns (the embedding's type must be one of
    /// pgvector's or cast to `real[]`); returns the relation, the id column and how the
    /// embedding is read.
    fn check(&self, c: &pgrx::spi::SpiClient<'_>, name: &str) -> (Relation, Column, Encoding) {
        let rel = Relation::open(c, self.relation, name, "Pass the table or view that holds the embeddings, e.g. source => 'items'.");
        let id = rel.column("id_column", self.id_column);
        let emb = rel.column("embedding_column", self.embedding_column);
        let (emb_type, emb_base) = (emb.type_name.clone(), emb.base);
        if let Some(t) = crate::shared::pgvector::vector_type(c, emb_base) {
            let encoding = Encoding::Pgvector(t, emb.declared);
            let id = id.clone();
            return (rel, id, encoding);
        }
        let castable = spi(
            c.select(
                "SELECT $1 OPERATOR(pg_catalog.=) ANY (ARRAY['real[]', 'double precision[]', 'numeric[]', 'smallint[]',
                                        'integer[]', 'bigint[]']::pg_catalog.regtype[]::pg_catalog.oid[])
                     OR EXISTS (SELECT 1 FROM pg_catalog.pg_cast k
                                 WHERE k.castsource OPERATOR(pg_catalog.=) $1
                                   AND k.casttarget OPERATOR(pg_catalog.=) 'real[]'::pg_catalog.regtype)",
                None,
                &[emb_base.into()],
            ),
            "check the embedding type",
        );
        if !spi(castable.first().get_one::<bool>(), "check the embedding type").unwrap_or(false) {
            raise(
                DATATYPE_MISMATCH,
                format!(
                    "embedding_column {} of source {name} has type {emb_type}, which does not cast to real[]",
                    literal(self.embedding_column)
                ),
                "Use a column of type real[], double precision[] or numeric[], or of a type with a cast to real[] (such as pgvector's vector).",
            );
        }
        let id = id.clone();
        (rel, id, Encoding::RealArray)
    }

    fn fetch_all(&self, c: &pgrx::spi::SpiClient<'_>, query: &str, encoding: Encoding, name: &str, progress: &mut Reporter) -> Embeddings {
        let mut out = Embeddings { ids: Vec::new(), id_bytes: 0, data: Vec::new(), dim: 0 };
        let mut probed = 0usize;
        for_each_batch(c, query, |batch| {
            progress.tick(|| format!("read {} rows of {name}", out.ids.len()));
            let fetched = batch.len();
            // Room for the batch, taken so that a failure is an error rather than an abort.
            crate::shared::errors::try_grow(&mut out.data, fetched * out.dim.max(1), || format!("reading source {name}"));
            crate::shared::errors::try_grow(&mut out.ids, fetched, || format!("reading source {name}"));
            // SAFETY: the batch's rows have the two columns of `query` (real[], id as text),
            // checked by copy_row before a datum is decoded; nothing borrowed outlives it.
            unsafe {
                let (desc, tuples) = batch.raw();
                for &tuple in tuples {
                    self.copy_row(tuple, desc, encoding, name, &mut out);
                }
            }
            let planned = (self.plan_bytes)(out.ids.len(), out.dim) + out.id_bytes;
            if planned > self.limit_bytes {
                raise(
                    PROGRAM_LIMIT_EXCEEDED,
                    format!(
                        "source {name} needs more than {} MB of working memory ({} rows of {} dimensions read so far), over pg_mlkit.max_memory_mb ({} MB)",
                        planned / (1024 * 1024),
                        out.ids.len(),
                        out.dim,
                        self.limit_bytes / (1024 * 1024)
                    ),
                    "Raise the limit (SET pg_mlkit.max_memory_mb = ...) if the server has the memory, cluster a sample through a view, or (K-Means) pass params => {\"engine\": \"scan\"}, which never holds the table.",
                );
            }
            // Under the limit, the plan must still be one the server can give now.
            if planned > probed {
                crate::shared::errors::ensure_allocatable(planned, || format!("reading source {name}"));
                probed = planned;
            }
            out.id_bytes + out.data.len() * 4
        });
        if out.ids.is_empty() {
            raise(
                INVALID_PARAMETER_VALUE,
                format!("source {name} has no rows"),
                "Cluster a table or view that holds at least as many rows as clusters.",
            );
        }
        check_unique_ids(&out.ids, self.id_column, name);
        out
    }

    /// Appends a pgvector value's dense values to `out.data` and returns its dimensions. A
    /// `sparsevec` is densified: its `dim` floats are room the memory plan counts, checked
    /// before they are taken.
    ///
    /// # Safety
    /// `datum` must be a non-null datum of type `t`.
    unsafe fn append_vector(
        &self,
        t: mlkit::vector_formats::VectorType,
        datum: pg_sys::Datum,
        name: &str,
        id: &str,
        out: &mut Embeddings,
    ) -> usize {
        let (rows, id_bytes) = (out.ids.len() + 1, out.id_bytes);
        let reserve = |data: &mut Vec<f32>, dim: usize| {
            let planned = (self.plan_bytes)(rows, dim) + id_bytes;
            if planned > self.limit_bytes {
                raise(
                    PROGRAM_LIMIT_EXCEEDED,
                    format!(
                        "source {name} needs more than {} MB of working memory ({rows} rows of {dim} dimensions, the {} of id {} densified), over pg_mlkit.max_memory_mb ({} MB)",
                        planned >> 20,
                        t.name(),
                        literal(id),
                        self.limit_bytes >> 20
                    ),
                    "Raise the limit (SET pg_mlkit.max_memory_mb = ...) if the server has the memory, or reduce the dimensions first.",
                );
            }
            crate::shared::errors::try_grow(data, dim, || format!("reading an embedding of {dim} values"));
        };
        // SAFETY: a non-null datum of type `t`.
        unsafe {
            crate::shared::pgvector::append_datum(t, datum, &mut out.data, reserve, || {
                format!("embedding of id {} in source {name}", literal(id))
            })
        }
    }

    /// Copies one `(id, embedding)` row into `out`, checking it.
    unsafe fn copy_row(
        &self,
        tuple: *mut pg_sys::HeapTupleData,
        desc: pg_sys::TupleDesc,
        encoding: Encoding,
        name: &str,
        out: &mut Embeddings,
    ) {
        let mut null = false;
        // SAFETY: the query has two columns, checked to be real[] and text before any datum of
        // them is decoded.
        unsafe {
            let oid = match encoding {
                Encoding::RealArray => pg_sys::FLOAT4ARRAYOID,
                Encoding::Pgvector(_, declared) => declared,
            };
            sql::expect_type(desc, 1, oid, "read the source's embeddings");
            sql::expect_type(desc, 2, pg_sys::TEXTOID, "read the source's ids");
        }
        // SAFETY: column 2 of the tuple is text (checked above); the str borrows the tuple's
        // (or a detoasted) copy, and is copied out with a fallible allocation.
        let id = unsafe {
            let datum = pg_sys::SPI_getbinval(tuple, desc, 2, &mut null);
            <&str>::from_datum(datum, null).map(|t| owned_text(t, || format!("reading the ids of source {name}")))
        };
        let Some(id) = id else { refuse_null_id(self.id_column, name) };
        out.id_bytes += id.len() + std::mem::size_of::<String>();
        // SAFETY: column 1 is real[] (checked above).
        let datum = unsafe { pg_sys::SPI_getbinval(tuple, desc, 1, &mut null) };
        if null {
            refuse_null_embedding(self.embedding_column, name, &id);
        }
        let start = out.data.len();
        let len = match encoding {
            // SAFETY: a non-null datum of pgvector type `t` (checked above).
            Encoding::Pgvector(t, _) => Ok(unsafe { self.append_vector(t, datum, name, &id, out) }),
            // SAFETY: a non-null real[] datum.
            Encoding::RealArray => unsafe { append_real_array(datum, &mut out.data) },
        };
        let len = len.unwrap_or_else(|problem| {
            let what = match problem {
                ArrayProblem::Empty => "is empty".to_string(),
                ArrayProblem::MultiDimensional(n) => format!("has {n} dimensions, not 1"),
                ArrayProblem::NullElement => "contains a NULL element".to_string(),
            };
            raise(
                if problem == ArrayProblem::NullElement { NULL_VALUE_NOT_ALLOWED } else { ARRAY_SUBSCRIPT_ERROR },
                format!("embedding of id {} in source {name} {what}", literal(&id)),
                "Every embedding must be a one-dimensional array of numbers without NULLs.",
            )
        });
        if out.ids.is_empty() {
            out.dim = len;
        } else if len != out.dim {
            raise(
                ARRAY_SUBSCRIPT_ERROR,
                format!("embedding of id {} in source {name} has {len} dimensions, but the first row's has {}", literal(&id), out.dim),
                "All embeddings must have the same number of dimensions; filter the odd rows out through a view.",
            );
        }
        if let Some(pos) = out.data[start..].iter().position(|v| !v.is_finite()) {
            raise(
                INVALID_PARAMETER_VALUE,
                format!(
                    "embedding of id {} in source {name} has {} at position {}",
                    literal(&id),
                    sql_float(out.data[start + pos]),
                    pos + 1
                ),
                "Clustering needs finite numbers: fix the row, or filter it out through a view.",
            );
        }
        out.ids.push(id);
    }
}

/// A relation's name as SQL should write it (quoted, and qualified unless the caller's
/// search_path finds it): for messages only, never for a query.
pub fn display_name(relation: pg_sys::Oid) -> String {
    Spi::connect(|c| {
        let t = spi(c.select("SELECT $1::pg_catalog.regclass::pg_catalog.text", None, &[relation.into()]), "name the source");
        spi(t.first().get_one::<String>(), "name the source")
    })
    .unwrap_or_else(|| format!("{}", relation.to_u32()))
}

/// A relation's schema-qualified name (`public.items`, quoted where needed), whatever the
/// `search_path`: what a run records as its source (a record, never read back as a query).
pub fn qualified_name(relation: pg_sys::Oid) -> String {
    let (schema, name) = Spi::connect(|c| sql::relation_parts(c, relation));
    format!("{}.{}", sql::display_ident(&schema), sql::display_ident(&name))
}

/// A relation a pg_mlkit function reads, checked to be something rows can be read from.
pub struct Relation {
    pub oid: pg_sys::Oid,
    /// The name as messages write it.
    pub name: String,
    pub columns: Vec<Column>,
}

/// One column of a [`Relation`].
#[derive(Clone)]
pub struct Column {
    pub name: String,
    /// `format_type` of the column, for messages.
    pub type_name: String,
    /// The column's type, or the base type when it is a domain.
    pub base: pg_sys::Oid,
    /// The column's declared type (a domain's own OID), as a query's result describes it.
    pub declared: pg_sys::Oid,
}

impl Relation {
    /// Checks that `oid` is a table, view, materialized view, partitioned or foreign table
    /// (raising with `hint` if not) and lists its columns.
    pub fn open(c: &pgrx::spi::SpiClient<'_>, oid: pg_sys::Oid, name: &str, hint: &str) -> Relation {
        let kind = spi(
            c.select(
                "SELECT r.relkind::pg_catalog.text FROM pg_catalog.pg_class r WHERE r.oid OPERATOR(pg_catalog.=) $1",
                None,
                &[oid.into()],
            ),
            "look up the source",
        );
        let kind = spi_some(kind.first().get_one::<String>(), "look up the source");
        if !["r", "v", "m", "p", "f"].contains(&kind.as_str()) {
            raise(WRONG_OBJECT_TYPE, format!("source {name} is not a table, view or materialized view"), hint);
        }
        let rows = spi(
            c.select(
                "SELECT a.attname::pg_catalog.text, pg_catalog.format_type(a.atttypid, a.atttypmod),
                        (SELECT CASE WHEN t.typtype OPERATOR(pg_catalog.=) 'd' THEN t.typbasetype ELSE t.oid END
                           FROM pg_catalog.pg_type t WHERE t.oid OPERATOR(pg_catalog.=) a.atttypid) AS base,
                        a.atttypid
                   FROM pg_catalog.pg_attribute a
                  WHERE a.attrelid OPERATOR(pg_catalog.=) $1 AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped
                  ORDER BY a.attnum",
                None,
                &[oid.into()],
            ),
            "list the source's columns",
        );
        let mut columns = Vec::new();
        for row in rows {
            columns.push(Column {
                name: spi_some(row.get::<String>(1), "read a column name"),
                type_name: spi_some(row.get::<String>(2), "read a column type"),
                base: spi(row.get::<pg_sys::Oid>(3), "read a column type").unwrap_or(pg_sys::InvalidOid),
                declared: spi_some(row.get::<pg_sys::Oid>(4), "read a column type"),
            });
        }
        Relation { oid, name: name.to_string(), columns }
    }

    /// The column `wanted`, named by argument `arg`; raises 42703 listing the columns if absent.
    pub fn column(&self, arg: &str, wanted: &str) -> &Column {
        self.columns.iter().find(|c| c.name == wanted).unwrap_or_else(|| {
            let all = self.columns.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(", ");
            // JSON where a column name goes: options passed by position (a name holds 63
            // bytes, so a long object arrives cut short: its opening brace is the sign).
            let hint = if wanted.trim_start().starts_with('{') {
                format!(
                    "This is JSON: options were passed by position, where {arg} goes. Pass them by name: params => '{{...}}' (and run => '{{...}}'). The columns of {} are: {all}.",
                    self.name
                )
            } else {
                format!("The columns of {} are: {all}.", self.name)
            };
            raise(UNDEFINED_COLUMN, format!("{arg} {} does not exist in source {}", literal(wanted), self.name), hint)
        })
    }

    /// How a read query orders its rows by the id `expr` (the id column, as [`sql::column`]
    /// writes it): by the id itself when its type has a default B-tree ordering, else by its
    /// text in byte order. So a run does not depend on the physical order of the table
    /// (rewrites, CLUSTER, VACUUM FULL, dump and restore).
    pub fn order_by(&self, c: &pgrx::spi::SpiClient<'_>, id: &Column, expr: &str) -> String {
        let orderable = spi(
            c.select(
                "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_opclass o JOIN pg_catalog.pg_am m ON m.oid OPERATOR(pg_catalog.=) o.opcmethod
                                 WHERE m.amname OPERATOR(pg_catalog.=) 'btree' AND o.opcdefault
                                   AND (o.opcintype OPERATOR(pg_catalog.=) $1
                                        OR (o.opcintype OPERATOR(pg_catalog.=) 'anyarray'::pg_catalog.regtype
                                            AND EXISTS (SELECT 1 FROM pg_catalog.pg_type t
                                                         WHERE t.oid OPERATOR(pg_catalog.=) $1 AND t.typelem OPERATOR(pg_catalog.<>) 0
                                                           AND t.typlen OPERATOR(pg_catalog.=) -1))
                                        OR (o.opcintype OPERATOR(pg_catalog.=) 'anyenum'::pg_catalog.regtype
                                            AND EXISTS (SELECT 1 FROM pg_catalog.pg_type t
                                                         WHERE t.oid OPERATOR(pg_catalog.=) $1 AND t.typtype OPERATOR(pg_catalog.=) 'e'))))",
                None,
                &[id.base.into()],
            ),
            "check the id type's ordering",
        );
        if spi(orderable.first().get_one::<bool>(), "check the id type's ordering").unwrap_or(false) {
            format!("ORDER BY {expr}")
        } else {
            format!("ORDER BY {expr}::pg_catalog.text COLLATE pg_catalog.\"C\"")
        }
    }
}

/// A float as SQL writes it (`NaN`, `Infinity`, `-Infinity`, or the number).
fn sql_float(v: f32) -> String {
    match v {
        v if v.is_nan() => "NaN".into(),
        f32::INFINITY => "Infinity".into(),
        f32::NEG_INFINITY => "-Infinity".into(),
        v => v.to_string(),
    }
}

#[derive(Debug, PartialEq)]
enum ArrayProblem {
    Empty,
    MultiDimensional(usize),
    NullElement,
}

/// How a read query's embedding column is decoded.
#[derive(Clone, Copy)]
enum Encoding {
    /// Cast to `real[]` by the query.
    RealArray,
    /// A pgvector type, read as stored; the column's declared type (a domain's own).
    Pgvector(mlkit::vector_formats::VectorType, pg_sys::Oid),
}

/// Appends the elements of a `real[]` datum to `out`, returning how many there were.
///
/// # Safety
/// `datum` must be a non-null `real[]` datum.
unsafe fn append_real_array(datum: pg_sys::Datum, out: &mut Vec<f32>) -> Result<usize, ArrayProblem> {
    let original = datum.cast_mut_ptr::<pg_sys::varlena>();
    // SAFETY: a valid varlena; detoasting returns it or a palloc'd flat copy.
    let flat = unsafe { pg_sys::pg_detoast_datum(original) };
    // SAFETY: a flat, valid ArrayType.
    let mut array = unsafe { RawArray::from_ptr(NonNull::new_unchecked(flat.cast())) };
    let ndim = array.dims().len();
    let result = if ndim == 0 {
        Err(ArrayProblem::Empty)
    } else if ndim > 1 {
        Err(ArrayProblem::MultiDimensional(ndim))
    } else if unsafe { array.any_nulls() } {
        Err(ArrayProblem::NullElement)
    } else {
        // SAFETY: a one-dimensional float4 array without NULLs: `len` contiguous f32s.
        let values = unsafe { array.data::<f32>().as_ref() };
        // Room taken fallibly: the first row's array may be of any length.
        crate::shared::errors::try_grow(out, values.len(), || format!("reading an embedding of {} values", values.len()));
        out.extend_from_slice(values);
        Ok(values.len())
    };
    if flat != original {
        // SAFETY: detoasting allocated `flat`, nothing else refers to it.
        unsafe { pg_sys::pfree(flat.cast()) };
    }
    result
}

pub fn check_unique_ids(ids: &[String], id_column: &str, name: &str) {
    let mut seen = HashSet::with_capacity(ids.len());
    for id in ids {
        if !seen.insert(id.as_str()) {
            refuse_duplicate_id(id_column, name, id);
        }
    }
}

/// The error for a row of source `name` without an id.
pub fn refuse_null_id(id_column: &str, name: &str) -> ! {
    raise(
        NULL_VALUE_NOT_ALLOWED,
        format!("id_column {} of source {name} is NULL in a row", literal(id_column)),
        "Every item needs an id: filter the NULLs out through a view, or fill them in.",
    )
}

/// The error for the row `id` of source `name` without an embedding.
pub fn refuse_null_embedding(embedding_column: &str, name: &str, id: &str) -> ! {
    raise(
        NULL_VALUE_NOT_ALLOWED,
        format!("embedding_column {} of source {name} is NULL for id {}", literal(embedding_column), literal(id)),
        "Leave such rows out with params => '{\"nulls\": \"skip\"}' (the run counts them), or through a view: WHERE embedding IS NOT NULL.",
    )
}

/// The error for an id that source `name` holds more than once.
pub fn refuse_duplicate_id(id_column: &str, name: &str, id: &str) -> ! {
    raise(
        UNIQUE_VIOLATION,
        format!("id_column {} of source {name} has the value {} more than once", literal(id_column), literal(id)),
        "Item ids must be unique: pass a key column as id_column.",
    )
}

/// A zero vector met under the cosine metric chosen by `arg` (`params.metric`, ...).
pub fn zero_vector_in(ids: &[String], row: usize, name: &str, arg: &str) -> ! {
    raise(
        INVALID_PARAMETER_VALUE,
        format!(
            "embedding of id {} in source {name} is all zeros, which has no cosine distance ({arg} 'cosine')",
            literal(ids.get(row).map_or("?", String::as_str))
        ),
        "Filter zero vectors out through a view, or use metric 'euclidean'.",
    )
}
