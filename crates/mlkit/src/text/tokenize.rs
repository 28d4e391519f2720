//! scikit-learn's default word analyzer (`CountVectorizer(analyzer="word")` on `str` input),
//! restated: Python's `str.lower()`, the token pattern `(?u)\b\w\w+\b`, stop words, n-grams.
//!
//! # The token pattern
//!
//! With a `str` pattern Python's `re` takes `\w` to be a character for which `str.isalnum()`
//! is true (general categories L*, and every character with a numeric value: Nd, Nl, No and
//! some Lo), or `_`. Combining marks (Mn, Mc) are *not* word characters, so `é` written as `e`
//! followed by U+0301 splits a word, and so do the vowel signs of Devanagari or Thai. `\b\w\w+\b` then
//! finds the maximal runs of word characters that are at least two characters (code points)
//! long. [`is_word_char`] answers from a table of Python's own answers ([`super::word_chars`],
//! generated from Python 3.11, Unicode 14.0); Rust's `char::is_alphanumeric` is *not* used,
//! as it counts Other_Alphabetic marks as letters and so would join what Python splits.
//!
//! # Lower-casing
//!
//! Python's `str.lower()` and Rust's `str::to_lowercase` both apply the full Unicode lower-case
//! mapping (`İ` becomes `i` + U+0307) and the final-sigma rule (`ΟΔΟΣ` becomes `οδος`). They
//! differ only where their Unicode versions do: characters added after Unicode 14.0 (Python
//! 3.11) get a mapping in Rust (Unicode 16) that Python 3.11 does not know, and are not word
//! characters in the table either; none of them is in common use.
//!
//! # n-grams
//!
//! As scikit-learn's `_word_ngrams`: stop words are removed first, then every run of `n`
//! consecutive remaining words, for `n` in `min_n..=max_n`, is one term, its words joined by
//! one space. BERTopic joins the documents of a cluster with a space into one document, so an
//! n-gram may span the end of one document and the start of the next one of the same cluster;
//! [`Analyzer::terms`] takes the last `max_n - 1` words before a document (its `carry`) to do
//! the same.

use super::stop_words;
use super::word_chars::WORD_RANGES;

/// Whether Python's `re` counts `c` as `\w` in a `str` pattern.
pub fn is_word_char(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphanumeric() || c == '_';
    }
    let c = c as u32;
    let i = WORD_RANGES.partition_point(|&(_, last)| last < c);
    i < WORD_RANGES.len() && WORD_RANGES[i].0 <= c
}

/// The byte ranges of the words of `text` as `re.findall(r"(?u)\b\w\w+\b", text)` finds them.
pub fn words(text: &str) -> impl Iterator<Item = (usize, usize)> + '_ {
    let mut chars = text.char_indices().peekable();
    std::iter::from_fn(move || loop {
        // Skip to the start of a run of word characters.
        let (start, _) = chars.find(|&(_, c)| is_word_char(c))?;
        let mut len = 1;
        let mut end = text.len();
        while let Some(&(i, c)) = chars.peek() {
            if !is_word_char(c) {
                end = i;
                break;
            }
            len += 1;
            chars.next();
        }
        if len >= 2 {
            return Some((start, end));
        }
    })
}

/// BERTopic's `_preprocess_text` for `language="english"` (its default), on one document:
/// new lines and tabs become spaces, and every character but ASCII letters, digits and the
/// space is dropped. Appends to `out`.
pub fn bertopic_clean(text: &str, out: &mut String) {
    out.extend(text.chars().filter_map(|c| match c {
        '\n' | '\t' | ' ' => Some(' '),
        c if c.is_ascii_alphanumeric() => Some(c),
        _ => None,
    }));
}

/// Which stop words to drop; scikit-learn's `stop_words` parameter.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum StopWords {
    /// None (`stop_words=None`, the default).
    #[default]
    None,
    /// scikit-learn's English list (`stop_words="english"`, [`stop_words::ENGLISH`]).
    English,
    /// A list of one's own, compared with the (lower-cased) words as they are.
    Custom(Vec<String>),
}

/// How a document becomes terms; `Default` is scikit-learn's `CountVectorizer()`.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalyzerOptions {
    /// `str.lower()` before finding words (`lowercase=True`).
    pub lowercase: bool,
    /// `(min_n, max_n)`, `1 <= min_n <= max_n`.
    pub ngram_range: (usize, usize),
    pub stop_words: StopWords,
    /// BERTopic's English preprocessing first ([`bertopic_clean`]); off in `CountVectorizer`.
    pub bertopic_preprocess: bool,
}

impl Default for AnalyzerOptions {
    fn default() -> Self {
        Self { lowercase: true, ngram_range: (1, 1), stop_words: StopWords::None, bertopic_preprocess: false }
    }
}

/// Reusable buffers, so that a document costs no allocation once they have grown.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    clean: String,
    lower: String,
    spans: Vec<(usize, usize)>,
    gram: String,
}

impl Scratch {
    pub(crate) fn bytes(&self) -> usize {
        self.clean.capacity() + self.lower.capacity() + self.spans.capacity() * 16 + self.gram.capacity()
    }
}

/// scikit-learn's analyzer with the given options.
#[derive(Debug, Clone)]
pub struct Analyzer {
    options: AnalyzerOptions,
    /// The custom stop words, sorted.
    custom: Vec<String>,
}

impl Analyzer {
    /// `None` when the n-gram range is not `1 <= min_n <= max_n`.
    pub fn new(options: AnalyzerOptions) -> Option<Self> {
        let (lo, hi) = options.ngram_range;
        if lo < 1 || hi < lo {
            return None;
        }
        let mut custom = match &options.stop_words {
            StopWords::Custom(list) => list.clone(),
            _ => Vec::new(),
        };
        custom.sort_unstable();
        custom.dedup();
        Some(Self { options, custom })
    }

    pub fn options(&self) -> &AnalyzerOptions {
        &self.options
    }

    fn is_stop_word(&self, word: &str) -> bool {
        match self.options.stop_words {
            StopWords::None => false,
            StopWords::English => stop_words::is_english(word),
            StopWords::Custom(_) => self.custom.binary_search_by(|s| s.as_str().cmp(word)).is_ok(),
        }
    }

    /// Calls `term` for every term of `text`, in scikit-learn's order (all words, then all
    /// 2-grams, ...). `carry` holds the last words of the documents before this one in the same
    /// joined document (empty for a document on its own); n-grams that start in it and end in
    /// `text` are terms of `text`, and on return it holds the last `max_n - 1` words so far.
    pub(crate) fn terms(&self, text: &str, carry: &mut Vec<String>, s: &mut Scratch, mut term: impl FnMut(&str)) {
        let mut source = text;
        if self.options.bertopic_preprocess {
            s.clean.clear();
            bertopic_clean(text, &mut s.clean);
            source = &s.clean;
        }
        s.lower.clear();
        if self.options.lowercase {
            // `str::to_lowercase` allocates; its result replaces the buffer.
            s.lower = source.to_lowercase();
        } else {
            s.lower.push_str(source);
        }
        let lower = &s.lower;
        s.spans.clear();
        s.spans.extend(words(lower).filter(|&(a, b)| !self.is_stop_word(&lower[a..b])));
        let (lo, hi) = self.options.ngram_range;
        let spans = &s.spans;
        let c = carry.len();
        let word = |k: usize| -> &str {
            if k < c {
                &carry[k]
            } else {
                let (a, b) = spans[k - c];
                &lower[a..b]
            }
        };
        for n in lo..=hi {
            // Every n-gram that ends in this document.
            for end in c..c + spans.len() {
                if end + 1 < n {
                    continue;
                }
                if n == 1 {
                    term(word(end));
                    continue;
                }
                s.gram.clear();
                for k in end + 1 - n..=end {
                    if k > end + 1 - n {
                        s.gram.push(' ');
                    }
                    s.gram.push_str(word(k));
                }
                term(&s.gram);
            }
        }
        let keep = hi - 1;
        if keep > 0 && !spans.is_empty() {
            let all = c + spans.len();
            let from = all.saturating_sub(keep);
            let mut next: Vec<String> = (from..all).map(|k| word(k).to_string()).collect();
            std::mem::swap(carry, &mut next);
        }
    }

    /// scikit-learn's `build_analyzer()(text)` for one document: its terms, in order.
    pub fn analyze(&self, text: &str) -> Vec<String> {
        let mut out = Vec::new();
        self.terms(text, &mut Vec::new(), &mut Scratch::default(), |t| out.push(t.to_string()));
        out
    }
}
