//! A strict parser of the Prometheus text exposition format (0.0.4), for
//! checking `RuntimeMetrics::to_prometheus`. Included by `rt_metrics.rs`
//! alone (`#[path]`), not through `common/mod.rs`, so its own test runs
//! once.
//!
//! Beyond the grammar (metric and label names, label-value escapes, float
//! values), it checks the rules the format states and weft promises:
//! every sample belongs to a family whose `# HELP` and `# TYPE` came before
//! it; a family's samples are contiguous and declared once; no series is
//! repeated; counter names end in `_total`; every histogram series has
//! buckets with increasing `le` bounds, non-decreasing cumulative counts,
//! a last bucket `le="+Inf"` equal to its `_count`, and a `_sum`.

use std::collections::{BTreeMap, HashSet};

/// One sample line.
#[derive(Debug, Clone)]
pub struct Sample {
    pub name: String,
    pub labels: Labels,
    pub value: f64,
}

impl Sample {
    /// The (unescaped) value of label `name`.
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// A metric family: HELP, TYPE and its samples.
#[derive(Debug, Clone)]
pub struct Family {
    pub name: String,
    pub kind: String,
    pub help: String,
    pub samples: Vec<Sample>,
}

/// A parsed exposition, families in order.
#[derive(Debug)]
pub struct Exposition {
    pub families: Vec<Family>,
}

impl Exposition {
    /// The family named `name`.
    pub fn family(&self, name: &str) -> Option<&Family> {
        self.families.iter().find(|f| f.name == name)
    }

    /// The value of sample `name` whose labels include every pair of `labels`.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        self.families
            .iter()
            .flat_map(|f| &f.samples)
            .find(|s| s.name == name && labels.iter().all(|(k, v)| s.label(k) == Some(*v)))
            .map(|s| s.value)
    }
}

fn is_metric_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn is_label_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A Go-syntax float as Prometheus accepts it (`+Inf`, `-Inf`, `NaN` too).
fn parse_value(s: &str) -> Result<f64, String> {
    match s {
        "+Inf" | "Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        "NaN" => Ok(f64::NAN),
        _ => s.parse::<f64>().map_err(|e| format!("bad value {s:?}: {e}")),
    }
}

/// A sample's labels, (name, unescaped value) in order.
type Labels = Vec<(String, String)>;

/// Parses `{a="x",b="y"}` at the start of `s`; returns the labels and the rest.
fn parse_labels(s: &str) -> Result<(Labels, &str), String> {
    let mut labels: Labels = Vec::new();
    let mut rest = s.strip_prefix('{').ok_or("expected '{'")?;
    loop {
        if let Some(r) = rest.strip_prefix('}') {
            return Ok((labels, r));
        }
        let (name, r) = rest.split_once('=').ok_or("label without '='")?;
        if !is_label_name(name) {
            return Err(format!("bad label name {name:?}"));
        }
        if labels.iter().any(|(n, _)| n == name) {
            return Err(format!("label {name} repeated"));
        }
        let mut chars = r.strip_prefix('"').ok_or("label value without opening quote")?.char_indices();
        let mut value = String::new();
        let end = loop {
            match chars.next().ok_or("unterminated label value")? {
                (i, '"') => break i,
                (_, '\\') => match chars.next().ok_or("dangling backslash")?.1 {
                    '\\' => value.push('\\'),
                    '"' => value.push('"'),
                    'n' => value.push('\n'),
                    c => return Err(format!("bad escape \\{c}")),
                },
                (_, '\n') => return Err("raw line feed in a label value".into()),
                (_, c) => value.push(c),
            }
        };
        labels.push((name.to_string(), value));
        rest = &r[1 + end + 1..];
        if let Some(r) = rest.strip_prefix(',') {
            rest = r;
        } else if !rest.starts_with('}') {
            return Err("expected ',' or '}' after a label".into());
        }
    }
}

fn parse_sample(line: &str) -> Result<Sample, String> {
    let name_end = line.find(['{', ' ']).ok_or("sample without a value")?;
    let name = &line[..name_end];
    if !is_metric_name(name) {
        return Err(format!("bad metric name {name:?}"));
    }
    let (labels, rest) = if line[name_end..].starts_with('{') {
        parse_labels(&line[name_end..])?
    } else {
        (Vec::new(), &line[name_end..])
    };
    let rest = rest.strip_prefix(' ').ok_or("expected a space before the value")?;
    let mut parts = rest.split(' ');
    let value = parse_value(parts.next().unwrap_or(""))?;
    if let Some(ts) = parts.next() {
        ts.parse::<i64>().map_err(|e| format!("bad timestamp {ts:?}: {e}"))?;
    }
    if parts.next().is_some() {
        return Err("trailing fields".into());
    }
    Ok(Sample { name: name.to_string(), labels, value })
}

/// Whether sample `name` belongs to family `f`.
fn belongs(f: &Family, name: &str) -> bool {
    match f.kind.as_str() {
        "histogram" => name
            .strip_prefix(f.name.as_str())
            .is_some_and(|suffix| ["_bucket", "_sum", "_count"].contains(&suffix)),
        _ => name == f.name,
    }
}

/// Checks one histogram family's series.
fn check_histogram(f: &Family) -> Result<(), String> {
    // Series key: labels other than `le`, in order.
    type Key = Labels;
    let key = |s: &Sample| -> Key { s.labels.iter().filter(|(n, _)| n != "le").cloned().collect() };
    let mut buckets: BTreeMap<Key, Vec<(f64, f64)>> = BTreeMap::new();
    let mut sums: BTreeMap<Key, f64> = BTreeMap::new();
    let mut counts: BTreeMap<Key, f64> = BTreeMap::new();
    for s in &f.samples {
        if s.name.ends_with("_bucket") {
            let le = s.label("le").ok_or_else(|| format!("{} without le", s.name))?;
            buckets.entry(key(s)).or_default().push((parse_value(le)?, s.value));
        } else if s.label("le").is_some() {
            return Err(format!("{} has an le label", s.name));
        } else if s.name.ends_with("_sum") {
            sums.insert(key(s), s.value);
        } else if s.name.ends_with("_count") {
            counts.insert(key(s), s.value);
        } else {
            return Err(format!("histogram sample {} is not _bucket, _sum or _count", s.name));
        }
    }
    for (k, b) in &buckets {
        if !b.windows(2).all(|w| w[0].0 < w[1].0) {
            return Err(format!("{} {k:?}: le bounds not increasing", f.name));
        }
        if !b.windows(2).all(|w| w[0].1 <= w[1].1) {
            return Err(format!("{} {k:?}: bucket counts not cumulative", f.name));
        }
        let &(last_le, last) = b.last().unwrap();
        if last_le != f64::INFINITY {
            return Err(format!("{} {k:?}: last bucket is not +Inf", f.name));
        }
        if counts.get(k) != Some(&last) {
            return Err(format!("{} {k:?}: +Inf bucket {last} != _count {:?}", f.name, counts.get(k)));
        }
        if !sums.contains_key(k) {
            return Err(format!("{} {k:?}: no _sum", f.name));
        }
    }
    if buckets.len() != counts.len() || buckets.len() != sums.len() {
        return Err(format!("{}: _sum or _count without buckets", f.name));
    }
    Ok(())
}

/// Parses and validates `text`; the error names the line and the rule.
pub fn parse(text: &str) -> Result<Exposition, String> {
    let mut families: Vec<Family> = Vec::new();
    let mut helps: BTreeMap<String, String> = BTreeMap::new();
    let mut series: HashSet<String> = HashSet::new();
    if !text.is_empty() && !text.ends_with('\n') {
        return Err("the last line does not end in a line feed".into());
    }
    for (n, line) in text.lines().enumerate() {
        let at = |e: String| format!("line {}: {e}: {line:?}", n + 1);
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').unwrap_or((rest, ""));
            if !is_metric_name(name) || helps.insert(name.to_string(), help.to_string()).is_some() {
                return Err(at("bad or repeated HELP".into()));
            }
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').ok_or_else(|| at("TYPE without a type".into()))?;
            if !["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind) {
                return Err(at(format!("unknown type {kind}")));
            }
            if families.iter().any(|f| f.name == name) {
                return Err(at("family declared twice (samples not contiguous?)".into()));
            }
            let help = helps.get(name).ok_or_else(|| at("TYPE before (or without) HELP".into()))?;
            if kind == "counter" && !name.ends_with("_total") {
                return Err(at("counter name does not end in _total".into()));
            }
            families.push(Family {
                name: name.into(),
                kind: kind.into(),
                help: help.clone(),
                samples: Vec::new(),
            });
        } else if line.starts_with('#') {
            continue; // a comment
        } else {
            let sample = parse_sample(line).map_err(at)?;
            let family = families
                .last_mut()
                .filter(|f| belongs(f, &sample.name))
                .ok_or_else(|| at("sample outside its family's block, or without HELP and TYPE".into()))?;
            if !series.insert(format!("{}{:?}", sample.name, sample.labels)) {
                return Err(at("series repeated".into()));
            }
            family.samples.push(sample);
        }
    }
    if let Some(name) = helps.keys().find(|h| !families.iter().any(|f| &f.name == *h)) {
        return Err(format!("HELP for {name} without TYPE"));
    }
    for f in families.iter().filter(|f| f.kind == "histogram") {
        check_histogram(f)?;
    }
    Ok(Exposition { families })
}

#[test]
fn the_checker_rejects_what_the_format_forbids() {
    let ok = "# HELP a_total A.\n# TYPE a_total counter\na_total{x=\"q\\\"\\\\\\n\"} 1\n";
    assert_eq!(parse(ok).unwrap().families[0].samples[0].label("x"), Some("q\"\\\n"));
    for bad in [
        "a_total 1\n",                                                  // no HELP/TYPE
        "# TYPE a_total counter\na_total 1\n",                          // no HELP
        "# HELP a A.\n# TYPE a counter\na 1\n",                         // counter without _total
        "# HELP a A.\n# TYPE a gauge\na{x=\"\\t\"} 1\n",                // bad escape
        "# HELP a A.\n# TYPE a gauge\na{1x=\"\"} 1\n",                  // bad label name
        "# HELP a A.\n# TYPE a gauge\na 1\n# HELP b B.\n# TYPE b gauge\na 2\n", // not contiguous
        "# HELP h H.\n# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n",
        "# HELP h H.\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 3\n",
        "# HELP h H.\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n",
    ] {
        assert!(parse(bad).is_err(), "accepted {bad:?}");
    }
}
