//! Reading the text forms of aggregate states (`ml.kmeans_state`, `ml.quantile_sketch`): JSON
//! objects with keys in a fixed order and numbers printed by Rust's shortest round-trip
//! formatting, read back here with Rust's exact `f64` parser, so a state survives its text
//! form bit for bit (which a general JSON parser does not promise).

/// A cursor over such text; errors say what was expected where.
pub struct Tokens<'a> {
    s: &'a str,
    at: usize,
}

impl<'a> Tokens<'a> {
    pub fn new(s: &'a str) -> Self {
        Self { s: s.trim(), at: 0 }
    }

    fn rest(&self) -> &str {
        &self.s[self.at..]
    }

    fn skip_space(&mut self) {
        let r = self.rest();
        self.at += r.len() - r.trim_start().len();
    }

    /// Whether nothing but space is left.
    pub fn done(&mut self) -> bool {
        self.skip_space();
        self.at == self.s.len()
    }

    pub fn expect(&mut self, p: &str) -> Result<(), String> {
        self.skip_space();
        if self.rest().starts_with(p) {
            self.at += p.len();
            Ok(())
        } else {
            Err(format!("expected {p:?} at character {}", self.at + 1))
        }
    }

    /// `"name":`
    pub fn key(&mut self, name: &str) -> Result<(), String> {
        self.expect(&format!("\"{name}\""))?;
        self.expect(":")
    }

    pub fn number(&mut self) -> Result<f64, String> {
        self.skip_space();
        let r = self.rest();
        let len = r.find(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '+')).unwrap_or(r.len());
        let tok = &r[..len];
        let v: f64 = tok.parse().map_err(|_| format!("expected a number at character {}, found {tok:?}", self.at + 1))?;
        self.at += len;
        Ok(v)
    }

    /// `"name": number`
    pub fn key_number(&mut self, name: &str) -> Result<f64, String> {
        self.key(name)?;
        self.number()
    }

    /// `[n, n, …]`
    pub fn list(&mut self) -> Result<Vec<f64>, String> {
        self.sequence(Self::number)
    }

    /// `[[…], […], …]`
    pub fn lists(&mut self) -> Result<Vec<Vec<f64>>, String> {
        self.sequence(Self::list)
    }

    /// `[item, item, …]`, possibly empty.
    fn sequence<T>(&mut self, mut item: impl FnMut(&mut Self) -> Result<T, String>) -> Result<Vec<T>, String> {
        self.expect("[")?;
        let mut out = Vec::new();
        self.skip_space();
        if self.rest().starts_with(']') {
            self.at += 1;
            return Ok(out);
        }
        loop {
            out.push(item(self)?);
            self.skip_space();
            if self.rest().starts_with(',') {
                self.at += 1;
            } else {
                self.expect("]")?;
                return Ok(out);
            }
        }
    }
}

/// Numbers as the text forms print them: shortest round-trip formatting, comma-separated.
pub fn join(v: &[f64]) -> String {
    v.iter().map(|x| format!("{x:?}")).collect::<Vec<_>>().join(",")
}
