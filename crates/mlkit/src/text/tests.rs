//! Against BERTopic 0.17.4's `ClassTfidfTransformer` over scikit-learn 1.9.1's `CountVectorizer`,
//! from `tests/fixtures/keywords/make_fixtures.py`.

use super::tokenize::{is_word_char, words};
use super::*;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/keywords/");

fn read(name: &str) -> String {
    std::fs::read_to_string(format!("{DIR}{name}")).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars();
    while let Some(c) = it.next() {
        if c == '\\' {
            match it.next() {
                Some('t') => out.push('\t'),
                Some('n') => out.push('\n'),
                Some('r') => out.push('\r'),
                Some('\\') => out.push('\\'),
                other => panic!("bad escape {other:?}"),
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn corpus(name: &str) -> Vec<(i64, String)> {
    read(&format!("corpus_{name}.tsv"))
        .lines()
        .map(|l| {
            let (label, text) = l.split_once('\t').unwrap();
            (label.parse().unwrap(), unescape(text))
        })
        .collect()
}

struct Expected {
    corpus: String,
    options: Options,
    clusters: Vec<(i64, Vec<(String, f64)>)>,
}

fn expected(name: &str) -> Expected {
    let text = read(&format!("expected_{name}.tsv"));
    let mut lines = text.lines();
    let header = lines.next().unwrap().strip_prefix("# ").unwrap();
    let mut o = Options { top_n: 0, ..Options::default() };
    let mut corpus = String::new();
    for kv in header.split_whitespace() {
        let (k, v) = kv.split_once('=').unwrap();
        match k {
            "corpus" => corpus = v.to_string(),
            "top_n" => o.top_n = v.parse().unwrap(),
            "ngram_range" => {
                let (a, b) = v.split_once(',').unwrap();
                o.analyzer.ngram_range = (a.parse().unwrap(), b.parse().unwrap());
            }
            "stop_words" => {
                assert_eq!(v, "english");
                o.analyzer.stop_words = StopWords::English;
            }
            "lowercase" => o.analyzer.lowercase = v == "true",
            "bertopic_preprocess" => o.analyzer.bertopic_preprocess = v == "true",
            "bm25_weighting" => o.bm25_weighting = v == "true",
            "reduce_frequent_words" => o.reduce_frequent_words = v == "true",
            "min_df" if v.contains('.') => o.min_df = MinDf::Proportion(v.parse().unwrap()),
            "min_df" => o.min_df = MinDf::Count(v.parse().unwrap()),
            "min_documents" => o.min_documents = v.parse().unwrap(),
            _ => panic!("unknown option {k}"),
        }
    }
    let mut clusters: Vec<(i64, Vec<(String, f64)>)> = Vec::new();
    for l in lines {
        if let Some(rest) = l.strip_prefix('\t') {
            let (t, w) = rest.split_once('\t').unwrap();
            clusters.last_mut().unwrap().1.push((unescape(t), w.parse().unwrap()));
        } else {
            let (label, _) = l.split_once('\t').unwrap();
            clusters.push((label.parse().unwrap(), Vec::new()));
        }
    }
    Expected { corpus, options: o, clusters }
}

/// Compares; returns the largest weight difference and the number of weights compared.
fn compare(name: &str, got: &Keywords, want: &Expected, top_n: usize) -> (f64, usize) {
    assert_eq!(got.clusters.len(), want.clusters.len(), "{name}: clusters");
    let mut worst = 0f64;
    let mut n = 0;
    for (g, (label, terms)) in got.clusters.iter().zip(&want.clusters) {
        assert_eq!(g.label, *label, "{name}");
        let terms = if top_n > 0 { &terms[..terms.len().min(top_n)] } else { &terms[..] };
        assert_eq!(g.terms.len(), terms.len(), "{name}: cluster {label}: {:?} vs {:?}", g.terms, terms);
        for (i, ((gt, gw), (wt, ww))) in g.terms.iter().zip(terms).enumerate() {
            let d = (gw - ww).abs();
            assert!(d <= 1e-9, "{name}: cluster {label} #{i} {gt} {gw} vs {wt} {ww}");
            worst = worst.max(d);
            n += 1;
            if gt != wt {
                // Only equal weights may come in another order.
                let tie = terms.iter().any(|(t, w)| t == gt && (w - ww).abs() <= 1e-12);
                assert!(tie, "{name}: cluster {label} #{i}: {gt} ({gw}) where {wt} ({ww})");
            }
        }
    }
    (worst, n)
}

fn run(docs: &[(i64, String)], options: Options) -> Result<Keywords, Error> {
    let mut acc = Accumulator::new(options)?;
    for (label, text) in docs {
        acc.add(*label, text)?;
    }
    acc.finish(&mut |_| {})
}

const CASES: [&str; 11] = [
    "default",
    "bigrams",
    "english",
    "bigrams_english_min2",
    "min_half",
    "bi_trigrams",
    "bm25",
    "reduce",
    "cased",
    "preprocess",
    "min_documents",
];

#[test]
fn equals_bertopic() {
    let mut worst = 0f64;
    let mut total = 0;
    for corpus_name in ["real", "unicode"] {
        let docs = corpus(corpus_name);
        for case in CASES {
            let name = format!("{corpus_name}_{case}");
            let want = expected(&name);
            assert_eq!(want.corpus, corpus_name);
            let got = run(&docs, want.options.clone()).unwrap_or_else(|e| panic!("{name}: {e}"));
            let (w, n) = compare(&name, &got, &want, 0);
            worst = worst.max(w);
            total += n;
        }
    }
    eprintln!("{total} weights, largest difference {worst:e}");
}

/// The two passes (a small sketch, so that rare terms collide) give the one-pass result.
#[test]
fn sketch_pass_is_exact() {
    for corpus_name in ["real", "unicode"] {
        let docs = corpus(corpus_name);
        let want = expected(&format!("{corpus_name}_min_documents"));
        let mut sketch = Accumulator::sketch(&want.options, 1 << 16).unwrap();
        for (label, text) in &docs {
            sketch.add(*label, text);
        }
        let mut acc = Accumulator::with_sketch(want.options.clone(), sketch).unwrap();
        for (label, text) in &docs {
            acc.add(*label, text).unwrap();
        }
        let pruned_vocab = acc.vocabulary_len();
        let got = acc.finish(&mut |_| {}).unwrap();
        compare(corpus_name, &got, &want, 0);
        let full = {
            let mut acc = Accumulator::new(want.options.clone()).unwrap();
            for (label, text) in &docs {
                acc.add(*label, text).unwrap();
            }
            acc.vocabulary_len()
        };
        assert!(pruned_vocab < full, "{pruned_vocab} vs {full}");
        assert_eq!(got, run(&docs, want.options.clone()).unwrap());
    }
}

#[test]
fn top_n_cuts_the_ranking() {
    let docs = corpus("real");
    let want = expected("real_bigrams");
    let got = run(&docs, Options { top_n: 5, ..want.options.clone() }).unwrap();
    compare("real_bigrams top 5", &got, &want, 5);
}

#[test]
fn tokens_equal_scikit_learn() {
    let docs = corpus("unicode");
    let text = read("tokens_unicode.tsv");
    let plain = Analyzer::new(AnalyzerOptions::default()).unwrap();
    let english =
        Analyzer::new(AnalyzerOptions { stop_words: StopWords::English, ngram_range: (1, 3), ..AnalyzerOptions::default() }).unwrap();
    let lines: Vec<&str> = text.split('\n').collect();
    for (i, (_, doc)) in docs.iter().take(120).enumerate() {
        for (line, analyzer) in [(lines[2 * i], &plain), (lines[2 * i + 1], &english)] {
            let want: Vec<String> = if line.is_empty() { Vec::new() } else { line.split('\t').map(unescape).collect() };
            assert_eq!(analyzer.analyze(doc), want, "document {i}: {doc:?}");
        }
    }
}

#[test]
fn word_characters_are_pythons() {
    for c in ['a', 'Z', '0', '_', 'é', 'ß', 'Σ', '日', 'Ⅻ', '²', '½', '٣', '𝐀'] {
        assert!(is_word_char(c), "{c:?}");
    }
    // Combining marks, which Rust's is_alphanumeric counts when Other_Alphabetic.
    for c in ['\u{301}', '\u{93f}', '\u{94d}', '\u{e34}', '-', '\'', ' ', '\u{a0}', '😀', '\u{2028}'] {
        assert!(!is_word_char(c), "{c:?}");
    }
    assert!('\u{93f}'.is_alphanumeric(), "Rust differs here, hence the table");
    let w: Vec<&str> = words("a bc d_e f'gh, x2 é\u{301}t").map(|(a, b)| &"a bc d_e f'gh, x2 é\u{301}t"[a..b]).collect();
    assert_eq!(w, ["bc", "d_e", "gh", "x2"]);
}

#[test]
fn options_are_checked() {
    let bad = Options { analyzer: AnalyzerOptions { ngram_range: (2, 1), ..AnalyzerOptions::default() }, ..Options::default() };
    assert_eq!(Accumulator::new(bad).err(), Some(Error::NgramRange(2, 1)));
    let bad = Options { min_df: MinDf::Proportion(1.5), ..Options::default() };
    assert_eq!(Accumulator::new(bad).err(), Some(Error::MinDf(1.5)));
    let docs = vec![(0, "a b".to_string())];
    assert_eq!(run(&docs, Options::default()), Err(Error::EmptyVocabulary));
    let docs = vec![(0, "one two".to_string()), (1, "three".to_string())];
    assert_eq!(
        run(&docs, Options { min_df: MinDf::Count(3), ..Options::default() }),
        Err(Error::MinDfAboveClusters { min_df: 3, clusters: 2 })
    );
    assert_eq!(run(&docs, Options { min_df: MinDf::Count(2), ..Options::default() }), Err(Error::NoTermsRemain));
}

#[test]
fn ngrams_may_stay_inside_documents() {
    let docs = vec![(0, "alpha beta".to_string()), (0, "gamma".to_string()), (1, "delta epsilon zeta".to_string())];
    let opts = Options { analyzer: AnalyzerOptions { ngram_range: (2, 2), ..AnalyzerOptions::default() }, ..Options::default() };
    let joined = run(&docs, opts.clone()).unwrap();
    let terms: Vec<&str> = joined.clusters[0].terms.iter().map(|t| t.0.as_str()).collect();
    assert_eq!(terms, ["alpha beta", "beta gamma"]);
    let apart = run(&docs, Options { ngrams_span_documents: false, ..opts }).unwrap();
    let terms: Vec<&str> = apart.clusters[0].terms.iter().map(|t| t.0.as_str()).collect();
    assert_eq!(terms, ["alpha beta"]);
}

/// One million short documents in 20 clusters, bigrams: time and memory, one pass and two.
/// `cargo test -p mlkit --release text::tests::million -- --ignored --nocapture`
#[test]
#[ignore]
fn million() {
    use std::time::Instant;
    let mut rng = crate::rng::Rng::new(42);
    // A Zipf-like vocabulary of 50,000 made-up words.
    let syll = ["ka", "lo", "mi", "ne", "tu", "ra", "si", "po", "de", "fa", "gu", "ze", "vo", "wi", "ju", "ha"];
    let words: Vec<String> = (0..50_000u32)
        .map(|i| {
            let mut w = String::new();
            let mut k = i + 16;
            while k > 0 {
                w.push_str(syll[(k % 16) as usize]);
                k /= 16;
            }
            w
        })
        .collect();
    let n_docs = 1_000_000;
    let docs: Vec<(i64, String)> = (0..n_docs)
        .map(|_| {
            let label = (rng.next_u64() % 21) as i64 - 1;
            let len = 5 + (rng.next_u64() % 15) as usize;
            let mut d = String::new();
            for _ in 0..len {
                // Zipf-ish: rank = exp(u · ln 50000), and a cluster-specific shift for some words.
                let u = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
                let mut r = ((u * 50_000f64.ln()).exp() as usize).min(49_999);
                if r < 200 && rng.next_u64() % 3 == 0 {
                    r = (r + 200 * (label + 2) as usize) % 50_000;
                }
                d.push_str(&words[r]);
                d.push(' ');
            }
            (label, d)
        })
        .collect();
    let bytes: usize = docs.iter().map(|d| d.1.len()).sum();
    eprintln!("{n_docs} documents, {} MB of text", bytes >> 20);
    for (name, ngram, min_documents) in [("unigrams", (1, 1), 1), ("bigrams", (1, 2), 1), ("bigrams, min_documents 5", (1, 2), 5)] {
        let options =
            Options { analyzer: AnalyzerOptions { ngram_range: ngram, ..AnalyzerOptions::default() }, min_documents, ..Options::default() };
        let t = Instant::now();
        let mut acc = Accumulator::new(options.clone()).unwrap();
        for (l, d) in &docs {
            acc.add(*l, d).unwrap();
        }
        let (vocab, mem) = (acc.vocabulary_len(), acc.memory_bytes());
        let t_count = t.elapsed();
        let kw = acc.finish(&mut |_| {}).unwrap();
        eprintln!(
            "{name}, one pass: count {:.2?}, total {:.2?}, {} terms ({} kept), {} MB; cluster 0: {:?}",
            t_count,
            t.elapsed(),
            vocab,
            kw.vocabulary,
            mem >> 20,
            &kw.clusters[1].terms[..3]
        );
        if min_documents > 1 {
            let t = Instant::now();
            let mut sketch = Accumulator::sketch(&options, 32 << 20).unwrap();
            for (l, d) in &docs {
                sketch.add(*l, d);
            }
            let mut acc = Accumulator::with_sketch(options.clone(), sketch).unwrap();
            for (l, d) in &docs {
                acc.add(*l, d).unwrap();
            }
            let (vocab2, mem2) = (acc.vocabulary_len(), acc.memory_bytes());
            let kw2 = acc.finish(&mut |_| {}).unwrap();
            assert_eq!(kw, kw2);
            eprintln!("{name}, two passes: total {:.2?}, {} terms counted, {} MB (sketch 32 MB)", t.elapsed(), vocab2, mem2 >> 20);
        }
    }
}
