//! Counting terms per cluster while documents stream by, then BERTopic's c-TF-IDF.
//!
//! See the [module page](super) for the formula and what is equal to what.

use super::sketch::DfSketch;
use super::tokenize::{Analyzer, AnalyzerOptions, Scratch};
use super::vocabulary::{hash_term, Vocabulary};
use crate::{Progress, Step};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// FxHash for the `u32` term numbers and `i64` labels of the per-cluster maps.
#[derive(Default, Clone, Copy)]
pub(crate) struct Fx(u64);

impl Hasher for Fx {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(b as u64);
        }
    }
    fn write_u32(&mut self, i: u32) {
        self.write_u64(i as u64);
    }
    fn write_i64(&mut self, i: i64) {
        self.write_u64(i as u64);
    }
    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0.rotate_left(5) ^ i).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<Fx>>;

/// A minimum number of clusters (scikit-learn's `min_df` as BERTopic uses it).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MinDf {
    /// At least this many clusters (`min_df=2`).
    Count(u64),
    /// At least this share of the clusters, `0 <= p <= 1` (`min_df=0.5`: `df >= 0.5 * clusters`).
    Proportion(f64),
}

/// What to compute; `Default` is BERTopic's `ClassTfidfTransformer()` over scikit-learn's
/// `CountVectorizer()`, the ten best terms per cluster.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    pub analyzer: AnalyzerOptions,
    /// Whether an n-gram may span two consecutive documents of a cluster, as it does in
    /// BERTopic's joined document (default `true`).
    pub ngrams_span_documents: bool,
    /// Keep terms found in at least this many *clusters* (BERTopic's `min_df`; default 1).
    pub min_df: MinDf,
    /// Keep terms found in at least this many *documents* (ours; default 1, no pruning).
    pub min_documents: u64,
    /// BERTopic's `bm25_weighting`: `idf = ln(1 + (A − f + 0.5) / (f + 0.5))`.
    pub bm25_weighting: bool,
    /// BERTopic's `reduce_frequent_words`: the square root of the normalised frequencies.
    pub reduce_frequent_words: bool,
    /// Terms listed per cluster.
    pub top_n: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            analyzer: AnalyzerOptions::default(),
            ngrams_span_documents: true,
            min_df: MinDf::Count(1),
            min_documents: 1,
            bm25_weighting: false,
            reduce_frequent_words: false,
            top_n: 10,
        }
    }
}

/// Why keywords could not be computed.
#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    /// `ngram_range` is not `1 <= min_n <= max_n`.
    NgramRange(usize, usize),
    /// A `min_df` proportion outside `[0, 1]`.
    MinDf(f64),
    /// No document had a term (scikit-learn: "empty vocabulary; perhaps the documents only
    /// contain stop words").
    EmptyVocabulary,
    /// `min_df` counts more clusters than there are (scikit-learn: "max_df corresponds to <
    /// documents than min_df").
    MinDfAboveClusters { min_df: u64, clusters: usize },
    /// Pruning left no term (scikit-learn: "After pruning, no terms remain").
    NoTermsRemain,
    /// More than 2³² − 1 distinct terms, 4 GiB of term text, or 2³² − 1 occurrences of one
    /// term in one cluster.
    TooLarge,
    /// The sketch given to [`Accumulator::with_sketch`] was built with another analyzer.
    SketchMismatch,
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::NgramRange(lo, hi) => write!(f, "ngram_range ({lo}, {hi}) is not 1 <= min_n <= max_n"),
            Error::MinDf(p) => write!(f, "min_df {p} is not a count nor a proportion in [0, 1]"),
            Error::EmptyVocabulary => write!(f, "empty vocabulary; perhaps the documents only contain stop words"),
            Error::MinDfAboveClusters { min_df, clusters } => {
                write!(f, "min_df {min_df} is more than the {clusters} clusters")
            }
            Error::NoTermsRemain => write!(f, "after pruning, no terms remain; try a lower min_df or min_documents"),
            Error::TooLarge => write!(f, "too many distinct terms or occurrences to count"),
            Error::SketchMismatch => write!(f, "the first pass analysed the documents differently"),
        }
    }
}

impl std::error::Error for Error {}

/// One cluster's counts.
#[derive(Debug)]
struct Cluster {
    label: i64,
    documents: u64,
    /// Term number → occurrences in the cluster's documents.
    counts: FxMap<u32, u32>,
    /// The last `max_n - 1` words of its documents so far.
    carry: Vec<String>,
    /// Its only document so far was empty after BERTopic's preprocessing.
    lone_empty: bool,
}

/// Term counts per cluster, fed one document at a time.
#[derive(Debug)]
pub struct Accumulator {
    analyzer: Analyzer,
    options: Options,
    vocab: Vocabulary,
    clusters: Vec<Cluster>,
    index: FxMap<i64, usize>,
    /// Documents that contain each term, when `min_documents > 1`.
    doc_freq: Option<Vec<u32>>,
    /// The first pass, when given: terms whose estimate is below `min_documents` are skipped.
    sketch: Option<DfSketch>,
    documents: u64,
    scratch: Scratch,
    ids: Vec<u32>,
    terms: Vec<u32>,
    overflow: bool,
}

impl Accumulator {
    /// An empty accumulator; checks the options.
    pub fn new(options: Options) -> Result<Self, Error> {
        let (lo, hi) = options.analyzer.ngram_range;
        let analyzer = Analyzer::new(options.analyzer.clone()).ok_or(Error::NgramRange(lo, hi))?;
        if let MinDf::Proportion(p) = options.min_df {
            if !(0.0..=1.0).contains(&p) {
                return Err(Error::MinDf(p));
            }
        }
        let doc_freq = (options.min_documents > 1).then(Vec::new);
        Ok(Self {
            analyzer,
            options,
            vocab: Vocabulary::default(),
            clusters: Vec::new(),
            index: FxMap::default(),
            doc_freq,
            sketch: None,
            documents: 0,
            scratch: Scratch::default(),
            ids: Vec::new(),
            terms: Vec::new(),
            overflow: false,
        })
    }

    /// The second pass after `sketch` saw every document ([`super::sketch`]): the same result
    /// as [`Accumulator::new`], in the memory of the terms that may reach `min_documents`.
    pub fn with_sketch(options: Options, sketch: DfSketch) -> Result<Self, Error> {
        if sketch.analyzer.options() != &options.analyzer {
            return Err(Error::SketchMismatch);
        }
        let mut acc = Self::new(options)?;
        if acc.options.min_documents > 1 {
            acc.sketch = Some(sketch);
        }
        Ok(acc)
    }

    /// The first pass for these options, in about `bytes` of counters.
    pub fn sketch(options: &Options, bytes: usize) -> Result<DfSketch, Error> {
        let (lo, hi) = options.analyzer.ngram_range;
        let analyzer = Analyzer::new(options.analyzer.clone()).ok_or(Error::NgramRange(lo, hi))?;
        Ok(DfSketch::new(analyzer, options.ngrams_span_documents, bytes))
    }

    fn cluster(&mut self, label: i64) -> usize {
        if let Some(&c) = self.index.get(&label) {
            return c;
        }
        let c = self.clusters.len();
        self.clusters.push(Cluster { label, documents: 0, counts: FxMap::default(), carry: Vec::new(), lone_empty: false });
        self.index.insert(label, c);
        c
    }

    /// Adds one document of cluster `label` (any `i64`; −1, HDBSCAN's noise, is a cluster
    /// like the others, as in BERTopic). Documents of a cluster are joined in the order given.
    pub fn add(&mut self, label: i64, text: &str) -> Result<(), Error> {
        let c = self.cluster(label);
        self.documents += 1;
        let cl = &mut self.clusters[c];
        cl.documents += 1;
        if self.options.analyzer.bertopic_preprocess {
            cl.lone_empty = cl.documents == 1 && !text.chars().any(|ch| ch.is_ascii_alphanumeric() || matches!(ch, ' ' | '\n' | '\t'));
        }
        let mut carry = if self.options.ngrams_span_documents { std::mem::take(&mut cl.carry) } else { Vec::new() };
        self.terms.clear();
        let (vocab, sketch, min_docs, terms) = (&mut self.vocab, &self.sketch, self.options.min_documents, &mut self.terms);
        let mut overflow = false;
        self.analyzer.terms(text, &mut carry, &mut self.scratch, |t| {
            let h = hash_term(t);
            if let Some(sk) = sketch {
                if u64::from(sk.estimate(h)) < min_docs {
                    return;
                }
            }
            match vocab.intern(t, h) {
                Some(id) => terms.push(id),
                None => overflow = true,
            }
        });
        self.overflow |= overflow;
        self.clusters[c].carry = carry;
        self.count(c)
    }

    /// Adds the terms in `self.terms` to cluster `c`.
    fn count(&mut self, c: usize) -> Result<(), Error> {
        if self.overflow {
            return Err(Error::TooLarge);
        }
        let counts = &mut self.clusters[c].counts;
        for &id in &self.terms {
            let n = counts.entry(id).or_insert(0);
            *n = n.checked_add(1).ok_or(Error::TooLarge)?;
        }
        if let Some(df) = &mut self.doc_freq {
            self.ids.clear();
            self.ids.extend_from_slice(&self.terms);
            self.ids.sort_unstable();
            self.ids.dedup();
            df.resize(self.vocab.len(), 0);
            for &id in &self.ids {
                df[id as usize] = df[id as usize].saturating_add(1);
            }
        }
        Ok(())
    }

    /// Documents added.
    pub fn documents(&self) -> u64 {
        self.documents
    }

    /// Clusters seen.
    pub fn clusters(&self) -> usize {
        self.clusters.len()
    }

    /// Distinct terms counted so far (before pruning).
    pub fn vocabulary_len(&self) -> usize {
        self.vocab.len()
    }

    /// Bytes held so far, for the caller's memory budget: the vocabulary, the per-cluster maps
    /// (their tables at capacity: 8 bytes an entry and a control byte, at 7/8 load), the
    /// document frequencies, the sketch. An estimate of what the allocator handed out, within
    /// its per-block overhead.
    pub fn memory_bytes(&self) -> usize {
        let maps: usize = self
            .clusters
            .iter()
            .map(|c| {
                let buckets = if c.counts.capacity() == 0 { 0 } else { (c.counts.capacity() * 8 / 7).next_power_of_two() };
                std::mem::size_of::<Cluster>() + buckets * 9 + c.carry.iter().map(|s| 24 + s.capacity()).sum::<usize>()
            })
            .sum();
        self.vocab.bytes()
            + maps
            + self.index.capacity() * 17
            + self.doc_freq.as_ref().map_or(0, |d| d.capacity() * 4)
            + self.sketch.as_ref().map_or(0, |s| s.memory_bytes())
            + self.scratch.bytes()
            + self.ids.capacity() * 4
            + self.terms.capacity() * 8
    }

    /// Prunes, weighs and ranks: the clusters in ascending label order, each with its best
    /// `top_n` terms by (weight descending, term ascending), weights > 0 only. Tells `progress`
    /// of each cluster done (`Step::Pass { what: "c-TF-IDF", .. }`), where the caller may
    /// cancel.
    pub fn finish(mut self, progress: &mut dyn Progress) -> Result<Keywords, Error> {
        // BERTopic turns a cluster whose joined document is empty after its preprocessing
        // (only possible for a cluster of one document) into the document "emptydoc".
        if self.options.analyzer.bertopic_preprocess {
            for c in 0..self.clusters.len() {
                if self.clusters[c].documents == 1 && self.clusters[c].lone_empty {
                    self.terms.clear();
                    let (vocab, terms) = (&mut self.vocab, &mut self.terms);
                    let mut overflow = false;
                    self.analyzer.terms("emptydoc", &mut Vec::new(), &mut self.scratch, |t| match vocab.intern(t, hash_term(t)) {
                        Some(id) => terms.push(id),
                        None => overflow = true,
                    });
                    self.overflow |= overflow;
                    self.count(c)?;
                }
            }
        }
        self.sketch = None;
        let n_terms = self.vocab.len();
        if n_terms == 0 {
            return Err(Error::EmptyVocabulary);
        }
        // Order the clusters by label, as pandas' groupby does.
        self.clusters.sort_by_key(|c| c.label);
        let n_clusters = self.clusters.len();

        // Prune: columns dropped before any weight is computed, as scikit-learn does.
        let mut cluster_df = vec![0u32; n_terms];
        for c in &self.clusters {
            for (&id, &n) in &c.counts {
                if n > 0 {
                    cluster_df[id as usize] += 1;
                }
            }
        }
        let keep_df: Box<dyn Fn(u32) -> bool> = match self.options.min_df {
            MinDf::Count(k) => {
                if k > n_clusters as u64 {
                    return Err(Error::MinDfAboveClusters { min_df: k, clusters: n_clusters });
                }
                Box::new(move |df| u64::from(df) >= k)
            }
            MinDf::Proportion(p) => {
                let low = p * n_clusters as f64;
                Box::new(move |df| f64::from(df) >= low)
            }
        };
        let min_docs = self.options.min_documents;
        let keep: Vec<bool> = (0..n_terms)
            .map(|t| keep_df(cluster_df[t]) && self.doc_freq.as_ref().is_none_or(|d| u64::from(d.get(t).copied().unwrap_or(0)) >= min_docs))
            .collect();
        let kept = keep.iter().filter(|&&k| k).count();
        if kept == 0 {
            return Err(Error::NoTermsRemain);
        }
        drop(cluster_df);

        // Row sums, column sums f(t), and A = int(mean of the row sums).
        let mut freq = vec![0u64; n_terms];
        let mut row_sums = Vec::with_capacity(n_clusters);
        let mut total = 0u64;
        for c in &self.clusters {
            let mut s = 0u64;
            for (&id, &n) in &c.counts {
                if keep[id as usize] {
                    s += u64::from(n);
                    freq[id as usize] += u64::from(n);
                }
            }
            row_sums.push(s);
            total += s;
        }
        // numpy: `int(X.sum(axis=1).mean())`, the mean in f64, truncated.
        let average = (total as f64 / n_clusters as f64).trunc();
        let idf: Vec<f64> = freq
            .iter()
            .zip(&keep)
            .map(|(&f, &k)| {
                if !k {
                    0.0
                } else if self.options.bm25_weighting {
                    // `np.log(1 + ((avg - df + 0.5) / (df + 0.5)))`, `avg - df` in int64.
                    (1.0 + (((average as i64 - f as i64) as f64 + 0.5) / (f as f64 + 0.5))).ln()
                } else {
                    // `np.log((avg / df) + 1)`.
                    (average / f as f64 + 1.0).ln()
                }
            })
            .collect();
        drop(freq);

        let top_n = self.options.top_n;
        let mut out = Vec::with_capacity(n_clusters);
        let mut row: Vec<(f64, u32)> = Vec::new();
        for (ci, c) in self.clusters.iter().enumerate() {
            let sum = row_sums[ci] as f64;
            row.clear();
            if sum > 0.0 {
                for (&id, &n) in &c.counts {
                    if !keep[id as usize] {
                        continue;
                    }
                    // `normalize(X, norm="l1")`: count / row sum; then `X * diag(idf)`.
                    let mut tf = f64::from(n) / sum;
                    if self.options.reduce_frequent_words {
                        tf = tf.sqrt();
                    }
                    let w = tf * idf[id as usize];
                    if w > 0.0 {
                        row.push((w, id));
                    }
                }
            }
            let vocab = &self.vocab;
            let order = |a: &(f64, u32), b: &(f64, u32)| b.0.total_cmp(&a.0).then_with(|| vocab.term(a.1).cmp(vocab.term(b.1)));
            if row.len() > top_n && top_n > 0 {
                row.select_nth_unstable_by(top_n - 1, order);
                row.truncate(top_n);
            } else if top_n == 0 {
                row.clear();
            }
            row.sort_unstable_by(order);
            out.push(ClusterKeywords {
                label: c.label,
                documents: c.documents,
                words: row_sums[ci],
                terms: row.iter().map(|&(w, id)| (vocab.term(id).to_string(), w)).collect(),
            });
            progress.step(Step::Pass { what: "c-TF-IDF", done: ci + 1, total: n_clusters });
        }
        Ok(Keywords { clusters: out, vocabulary: kept, average_words: average as u64 })
    }
}

/// One cluster's best terms.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterKeywords {
    pub label: i64,
    /// Documents in the cluster.
    pub documents: u64,
    /// Occurrences of kept terms in the cluster (its row sum, the L1 norm's divisor).
    pub words: u64,
    /// `(term, weight)`, weight descending, then term ascending (byte order, which is Python's
    /// code point order).
    pub terms: Vec<(String, f64)>,
}

/// The result of [`Accumulator::finish`].
#[derive(Debug, Clone, PartialEq)]
pub struct Keywords {
    /// Every cluster seen, by ascending label.
    pub clusters: Vec<ClusterKeywords>,
    /// Terms kept after pruning (the columns of BERTopic's c-TF-IDF matrix).
    pub vocabulary: usize,
    /// `A`, the average of the row sums, truncated to an integer as BERTopic does.
    pub average_words: u64,
}
