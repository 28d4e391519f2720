//! Reading `jsonb` options (`params`, `run`, ...) strictly: an unknown key or a value of the
//! wrong type is an error that names the argument, the key and the value, never ignored.

use crate::shared::errors::{literal, raise, INTERNAL_ERROR, INVALID_PARAMETER_VALUE};
use serde_json::{Map, Value};

/// One key a `jsonb` argument may hold: its name, its default written as JSON (`null` when
/// there is none, or when it is computed as `meaning` says) and what it does. The parser reads
/// its defaults from here and `ml.options` lists these same definitions, so the two cannot
/// disagree.
#[derive(Debug, Clone, Copy)]
pub struct Opt {
    pub key: &'static str,
    pub default: &'static str,
    pub meaning: &'static str,
}

/// An [`Opt`], for the option lists of each function.
pub const fn opt(key: &'static str, default: &'static str, meaning: &'static str) -> Opt {
    Opt { key, default, meaning }
}

/// The declared default of `key` in `spec`, as written there (JSON).
pub fn declared(spec: &[Opt], key: &str) -> &'static str {
    spec.iter().find(|o| o.key == key).map_or("null", |o| o.default)
}

/// `"nulls"`, the key every analysis function's `params` takes ([`take_nulls`]).
pub const NULLS: Opt = opt(
    "nulls",
    "\"error\"",
    "what a row whose embedding is NULL does: \"error\" refuses the call, \"skip\" leaves it out (the run records how many in metrics.input.skipped)",
);

/// The keys of one `jsonb` argument, checked against what it may hold.
pub struct Options {
    arg: &'static str,
    map: Map<String, Value>,
    spec: &'static [Opt],
}

impl Options {
    /// `value` must be a JSON object (or SQL NULL / JSON null, read as `{}`) whose keys are
    /// all in `spec`; `owner` says in the hint whose keys they are ("K-Means", ...).
    pub fn new(arg: &'static str, value: Option<&Value>, spec: &'static [Opt], owner: &str) -> Self {
        let allowed: Vec<&str> = spec.iter().map(|o| o.key).filter(|k| *k != NULLS.key).collect();
        let map = match value {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(m)) => m.clone(),
            Some(other) => raise(
                INVALID_PARAMETER_VALUE,
                format!("{arg} must be a JSON object, not {}", literal(&other.to_string())),
                format!("Pass e.g. {arg} => '{{\"{}\": ...}}'.", allowed.first().unwrap_or(&"key")),
            ),
        };
        let mut unknown: Vec<&String> = map.keys().filter(|k| !allowed.contains(&k.as_str())).collect();
        unknown.sort();
        if let Some(k) = unknown.first() {
            raise(
                INVALID_PARAMETER_VALUE,
                format!("{arg} key {} is not a {owner} option", literal(k)),
                format!("{owner} takes: {}.", allowed.join(", ")),
            );
        }
        Self { arg, map, spec }
    }

    /// The raw value of `key`, if given and not JSON null.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    /// The declared default of `key`, as JSON (`Value::Null` when it has none).
    pub fn default_of(&self, key: &str) -> Value {
        let Some(o) = self.spec.iter().find(|o| o.key == key) else {
            raise(INTERNAL_ERROR, format!("pg_mlkit reads {}.{key}, which its option list does not declare", self.arg), BUG_HINT)
        };
        serde_json::from_str(o.default).unwrap_or_else(|_| {
            raise(INTERNAL_ERROR, format!("the declared default of {}.{key} is not JSON: {}", self.arg, o.default), BUG_HINT)
        })
    }

    /// The declared default of `key` when it is a number.
    fn default_number(&self, key: &str) -> f64 {
        self.default_of(key)
            .as_f64()
            .unwrap_or_else(|| raise(INTERNAL_ERROR, format!("{}.{key} has no numeric default", self.arg), BUG_HINT))
    }

    /// The declared default of `key` when it is a whole number.
    pub fn default_integer(&self, key: &str) -> i64 {
        self.default_of(key)
            .as_i64()
            .unwrap_or_else(|| raise(INTERNAL_ERROR, format!("{}.{key} has no whole-number default", self.arg), BUG_HINT))
    }

    /// "Leave it out" advice for a bad value of `key`, with its default where it has one.
    fn leave_out(&self, key: &str) -> String {
        match self.default_of(key) {
            Value::Null => format!("Leave {key} out ({}).", self.spec.iter().find(|o| o.key == key).map_or("", |o| o.meaning)),
            d => format!("Leave {key} out to use its default ({}).", display(&d)),
        }
    }

    /// "Write it as ..." advice, with the default as the example where there is one.
    fn write_as(&self, key: &str, what: &str) -> String {
        match self.default_of(key) {
            Value::Null => format!("Write it as a JSON {what}."),
            d => format!("Write it as a JSON {what}, e.g. {{\"{key}\": {d}}}."),
        }
    }

    /// A whole number in `min..=max`, or the declared default when absent.
    pub fn integer(&self, key: &str, min: i64, max: i64) -> i64 {
        self.integer_opt(key, min, max).unwrap_or_else(|| self.default_integer(key))
    }

    /// A whole number in `min..=max`, if given.
    pub fn integer_opt(&self, key: &str, min: i64, max: i64) -> Option<i64> {
        self.get(key)?;
        Some(self.integer_or(key, min, max, &self.leave_out(key)))
    }

    /// Like [`Options::integer`], with the hint given when the value is out of range.
    pub fn integer_or(&self, key: &str, min: i64, max: i64, range_hint: &str) -> i64 {
        match self.get(key) {
            None => self.default_integer(key),
            Some(v) => match v.as_i64().or_else(|| v.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 9e15).map(|f| f as i64)) {
                Some(n) if (min..=max).contains(&n) => n,
                Some(n) => {
                    raise(INVALID_PARAMETER_VALUE, format!("{}.{key} must be between {min} and {max}, not {n}", self.arg), range_hint)
                }
                None => raise(
                    INVALID_PARAMETER_VALUE,
                    format!("{}.{key} must be a whole number, not {}", self.arg, literal(&v.to_string())),
                    self.write_as(key, "number"),
                ),
            },
        }
    }

    /// A finite number in `min..=max`, or the declared default when absent.
    pub fn number(&self, key: &str, min: f64, max: f64) -> f64 {
        self.number_opt(key, min, max).unwrap_or_else(|| self.default_number(key))
    }

    /// A finite number in `min..=max`, if given.
    pub fn number_opt(&self, key: &str, min: f64, max: f64) -> Option<f64> {
        let v = self.get(key)?;
        Some(match v.as_f64() {
            Some(x) if x.is_finite() && (min..=max).contains(&x) => x,
            Some(x) => {
                raise(INVALID_PARAMETER_VALUE, format!("{}.{key} must be between {min} and {max}, not {x}", self.arg), self.leave_out(key))
            }
            None => raise(
                INVALID_PARAMETER_VALUE,
                format!("{}.{key} must be a number, not {}", self.arg, literal(&v.to_string())),
                self.write_as(key, "number"),
            ),
        })
    }

    /// A finite number above 0, or the declared default when absent.
    pub fn positive(&self, key: &str) -> f64 {
        self.bounded_below(key, false).unwrap_or_else(|| self.default_number(key))
    }

    /// A finite number above 0, if given.
    pub fn positive_opt(&self, key: &str) -> Option<f64> {
        self.bounded_below(key, false)
    }

    /// A finite number of 0 or more, or the declared default when absent.
    pub fn non_negative(&self, key: &str) -> f64 {
        self.bounded_below(key, true).unwrap_or_else(|| self.default_number(key))
    }

    fn bounded_below(&self, key: &str, zero_allowed: bool) -> Option<f64> {
        let v = self.get(key)?;
        Some(match v.as_f64() {
            Some(x) if x.is_finite() && (x > 0.0 || (zero_allowed && x == 0.0)) => x,
            Some(x) => raise(
                INVALID_PARAMETER_VALUE,
                format!("{}.{key} must be a number {}, not {x}", self.arg, if zero_allowed { "of 0 or more" } else { "above 0" }),
                self.leave_out(key),
            ),
            None => raise(
                INVALID_PARAMETER_VALUE,
                format!("{}.{key} must be a number, not {}", self.arg, literal(&v.to_string())),
                self.write_as(key, "number"),
            ),
        })
    }

    /// `true` or `false`, or the declared default when absent.
    pub fn boolean(&self, key: &str) -> bool {
        match self.get(key) {
            None => self
                .default_of(key)
                .as_bool()
                .unwrap_or_else(|| raise(INTERNAL_ERROR, format!("{}.{key} has no boolean default", self.arg), BUG_HINT)),
            Some(Value::Bool(b)) => *b,
            Some(other) => raise(
                INVALID_PARAMETER_VALUE,
                format!("{}.{key} must be true or false, not {}", self.arg, literal(&other.to_string())),
                self.write_as(key, "boolean"),
            ),
        }
    }

    /// A string, if given.
    pub fn text(&self, key: &str) -> Option<String> {
        self.get(key).map(|v| match v {
            Value::String(s) => s.clone(),
            other => raise(
                INVALID_PARAMETER_VALUE,
                format!("{}.{key} must be a JSON string, not {}", self.arg, literal(&other.to_string())),
                format!("Quote it: {{\"{key}\": \"...\"}}."),
            ),
        })
    }

    /// A string, or the declared default when absent.
    pub fn text_or_default(&self, key: &str) -> String {
        self.text(key).unwrap_or_else(|| match self.default_of(key) {
            Value::String(s) => s,
            _ => raise(INTERNAL_ERROR, format!("{}.{key} has no text default", self.arg), BUG_HINT),
        })
    }

    /// A JSON object, if given.
    pub fn object(&self, key: &str) -> Option<Value> {
        self.get(key).map(|v| match v {
            Value::Object(_) => v.clone(),
            other => raise(
                INVALID_PARAMETER_VALUE,
                format!("{}.{key} must be a JSON object, not {}", self.arg, literal(&other.to_string())),
                format!("Pass e.g. {{\"{key}\": {{\"epochs\": 60}}}}."),
            ),
        })
    }
}

/// A default as a user would read it in a hint: strings without their JSON quotes.
fn display(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The hint of an error that only a bug in pg_mlkit can cause.
const BUG_HINT: &str = "This is a bug in pg_mlkit: please report it with the call that raised it.";

/// A `jsonb` argument, read as [`pgrx::JsonB`] is, but parsed when the function asks for it
/// ([`Jsonb::value`]) so that a value serde_json refuses (nested deeper than 128 levels) is an
/// error that names the argument (SQLSTATE 22023). pgrx's own conversion panics there, which
/// would reach the user as an internal error.
pub struct Jsonb(String);

impl Jsonb {
    /// The argument's value; `arg` names it in the error ("params", "run", ...).
    pub fn value(&self, function: &str, arg: &str) -> Value {
        serde_json::from_str(&self.0).unwrap_or_else(|e| {
            raise(
                INVALID_PARAMETER_VALUE,
                format!("{function}: {arg} could not be read: {e}"),
                format!("Pass {arg} as a JSON object of options, nested at most 128 levels."),
            )
        })
    }
}

impl pgrx::FromDatum for Jsonb {
    unsafe fn from_polymorphic_datum(datum: pgrx::pg_sys::Datum, is_null: bool, _: pgrx::pg_sys::Oid) -> Option<Self> {
        if is_null {
            return None;
        }
        // SAFETY: a non-null jsonb datum; jsonb_out returns its text as a palloc'd cstring.
        let text = unsafe { pgrx::direct_function_call::<&std::ffi::CStr>(pgrx::pg_sys::jsonb_out, &[Some(datum)]) }
            .map(|c| c.to_string_lossy().into_owned())
            .unwrap_or_default();
        Some(Jsonb(text))
    }
}

// SAFETY: the SQL type is jsonb, exactly as pgrx declares it for JsonB.
unsafe impl pgrx::pgrx_sql_entity_graph::metadata::SqlTranslatable for Jsonb {
    const TYPE_IDENT: &'static str = pgrx::pgrx_resolved_type!(pgrx::JsonB);
    const TYPE_ORIGIN: pgrx::pgrx_sql_entity_graph::metadata::TypeOrigin = pgrx::pgrx_sql_entity_graph::metadata::TypeOrigin::External;
    const ARGUMENT_SQL: Result<pgrx::pgrx_sql_entity_graph::metadata::SqlMappingRef, pgrx::pgrx_sql_entity_graph::metadata::ArgumentError> =
        Ok(pgrx::pgrx_sql_entity_graph::metadata::SqlMappingRef::literal("jsonb"));
    const RETURN_SQL: Result<pgrx::pgrx_sql_entity_graph::metadata::ReturnsRef, pgrx::pgrx_sql_entity_graph::metadata::ReturnsError> =
        Ok(pgrx::pgrx_sql_entity_graph::metadata::ReturnsRef::One(pgrx::pgrx_sql_entity_graph::metadata::SqlMappingRef::literal("jsonb")));
}

// SAFETY: unboxed through FromDatum, as pgrx unboxes JsonB.
unsafe impl<'fcx> pgrx::callconv::ArgAbi<'fcx> for Jsonb {
    unsafe fn unbox_arg_unchecked(arg: pgrx::callconv::Arg<'_, 'fcx>) -> Self {
        // SAFETY: the caller passes a jsonb argument; a NULL one is handled by unbox_nullable_arg.
        unsafe { arg.unbox_arg_using_from_datum() }.unwrap_or_else(|| {
            raise(crate::shared::errors::NULL_VALUE_NOT_ALLOWED, "a jsonb argument must not be NULL", "Pass '{}' for no options.")
        })
    }

    unsafe fn unbox_nullable_arg(arg: pgrx::callconv::Arg<'_, 'fcx>) -> pgrx::nullable::Nullable<Self> {
        // SAFETY: as above.
        unsafe { arg.unbox_arg_using_from_datum() }.into()
    }
}

/// A seed for a run without `random_state`: below 2³¹, so it reads back exactly anywhere.
pub fn fresh_seed() -> u64 {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
    mlkit::rng::Rng::new(nanos ^ ((std::process::id() as u64) << 32)).next_u64() >> 33
}

/// `random_state` of an options object: a seed from 0 to 2⁶³ − 1, or a fresh one when it is
/// left out (every run records the seed it used, where `recorded_in` says). One rule for
/// every function that takes it.
pub fn random_state(o: &Options, recorded_in: &str) -> u64 {
    match o.get("random_state") {
        None => fresh_seed(),
        Some(_) => o.integer_or(
            "random_state",
            0,
            i64::MAX,
            &format!("Pass a seed of 0 or more, or leave random_state out to draw one (it is recorded in {recorded_in})."),
        ) as u64,
    }
}

/// `metric` of an options object named `arg` (`params`, `reduction_params`): 'euclidean' (the
/// default) or 'cosine', in any case. One rule for every function that takes it.
pub fn metric(o: &Options, arg: &str) -> mlkit::neighbors::Metric {
    let m = o.text_or_default("metric");
    if matches!(m.to_ascii_lowercase().as_str(), "inner_product" | "ip" | "dot" | "negative_inner_product") {
        crate::shared::errors::raise(
            crate::shared::errors::INVALID_PARAMETER_VALUE,
            format!("{arg}.metric 'inner_product' is not a distance, so clusters and neighbourhoods by it are not defined"),
            "Inner product is not a distance (a point is not its own nearest neighbour); on unit-length embeddings it orders as cosine does: use 'cosine'.",
        );
    }
    mlkit::neighbors::Metric::parse(&m.to_ascii_lowercase()).unwrap_or_else(|| {
        crate::shared::errors::raise(
            crate::shared::errors::INVALID_PARAMETER_VALUE,
            format!("{arg}.metric must be 'euclidean' or 'cosine', not {}", crate::shared::errors::literal(&m)),
            "Leave metric out for Euclidean distance.",
        )
    })
}

/// What an analysis function does with a source row whose embedding is NULL: `params =>
/// '{"nulls": "skip"}'` leaves it out (and the run records how many were left out), the
/// default `"error"` refuses the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nulls {
    Error,
    Skip,
}

impl Nulls {
    pub fn as_str(self) -> &'static str {
        match self {
            Nulls::Error => "error",
            Nulls::Skip => "skip",
        }
    }
}

/// Takes `"nulls"` out of the options `params` (named `arg` in errors), so that what is left
/// is the algorithm's own options, checked by its own key list.
pub fn take_nulls(arg: &str, params: &mut Option<Value>) -> Nulls {
    let Some(Value::Object(map)) = params else { return Nulls::Error };
    match map.remove("nulls") {
        None | Some(Value::Null) => Nulls::Error,
        Some(Value::String(s)) if s == "error" => Nulls::Error,
        Some(Value::String(s)) if s == "skip" => Nulls::Skip,
        Some(other) => raise(
            INVALID_PARAMETER_VALUE,
            format!("{arg}.nulls must be 'skip' or 'error', not {}", literal(&other.to_string())),
            "Leave nulls out (or pass \"error\") to refuse rows without an embedding; \"skip\" leaves them out and records how many.",
        ),
    }
}
