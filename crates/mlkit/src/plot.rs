//! An SVG scatter plot of a run: one `<circle>` a point (its id as the circle's `<title>`,
//! which a browser shows on hover), coloured by cluster, noise as hollow grey rings that no
//! cluster's colour resembles; axes with ticks at round values and their names; a title, a
//! subtitle and a legend of cluster sizes. Plain text out; no drawing library.

use std::fmt::Write;

/// Matplotlib's `tab20` colours in its order, without its two greys (which noise would be
/// mistaken for); clusters past 18 take hues turned by the golden angle, always saturated.
const PALETTE: [&str; 18] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#bcbd22", "#17becf", "#aec7e8", "#ffbb78", "#98df8a",
    "#ff9896", "#c5b0d5", "#c49c94", "#f7b6d2", "#dbdb8d", "#9edae5",
];
/// Noise (cluster −1).
const NOISE: &str = "#b0b0b0";
/// Legend entries shown before the rest are summed up in one line.
const LEGEND_MAX: usize = 20;

/// A point to draw: coordinates, cluster (`None`: the run has no clusters; `-1`: noise) and
/// the item's id, shown on hover.
#[derive(Debug, Clone)]
pub struct Point {
    pub x: f64,
    pub y: f64,
    pub cluster: Option<i32>,
    pub id: String,
}

/// What a plot says about itself: title, subtitle, the axes' names, its size in pixels.
#[derive(Debug, Clone)]
pub struct Labels<'a> {
    pub title: &'a str,
    pub subtitle: &'a str,
    pub x_axis: &'a str,
    pub y_axis: &'a str,
    pub width: u32,
    pub height: u32,
    /// Each cluster's top words (`ml.cluster_keywords`), shown after its size in the legend.
    pub keywords: &'a [(i32, String)],
}

/// Round tick values covering `[lo, hi]`: steps of 1, 2 or 5 times a power of ten, about
/// `target` of them, and the number of decimals their labels need.
pub fn ticks(lo: f64, hi: f64, target: usize) -> (Vec<f64>, usize) {
    if hi <= lo || !lo.is_finite() || !hi.is_finite() {
        return (vec![lo], 0);
    }
    let raw = (hi - lo) / target.max(1) as f64;
    let power = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * power).find(|&st| st >= raw).unwrap_or(10.0 * power);
    let decimals = (-step.log10().floor()).max(0.0) as usize;
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    ((first..=last).map(|i| i as f64 * step).collect(), decimals)
}

/// The colour of a cluster.
pub fn colour(cluster: Option<i32>) -> String {
    match cluster {
        None => PALETTE[0].to_string(),
        Some(c) if c < 0 => NOISE.to_string(),
        Some(c) if (c as usize) < PALETTE.len() => PALETTE[c as usize].to_string(),
        Some(c) => format!("hsl({:.0},65%,45%)", (c as f64 * 137.507_764) % 360.0),
    }
}

/// Escapes text for SVG.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&apos;")
}

/// The SVG document: `points` (drawn noise first, then by cluster), a legend of `sizes`
/// (cluster and its item count, largest first), axes with ticks, and the `labels`.
pub fn scatter(points: &[Point], sizes: &[(Option<i32>, usize)], labels: &Labels) -> String {
    let (width, height) = (labels.width, labels.height);
    let (w, h) = (width as f64, height as f64);
    // A legend with words needs room for them; its text is cut to fit.
    let legend_w = if labels.keywords.is_empty() { (w * 0.22).clamp(90.0, 220.0) } else { (w * 0.34).clamp(140.0, 340.0) };
    let (left, top, right, bottom) = (64.0, 52.0, w - legend_w - 8.0, h - 44.0);
    let (mut x0, mut x1, mut y0, mut y1) = (f64::INFINITY, f64::NEG_INFINITY, f64::INFINITY, f64::NEG_INFINITY);
    for p in points.iter().filter(|p| p.x.is_finite() && p.y.is_finite()) {
        x0 = x0.min(p.x);
        x1 = x1.max(p.x);
        y0 = y0.min(p.y);
        y1 = y1.max(p.y);
    }
    if !x0.is_finite() {
        (x0, x1, y0, y1) = (0.0, 1.0, 0.0, 1.0);
    }
    // A flat axis gets a unit of room around its one value.
    if x1 <= x0 {
        (x0, x1) = (x0 - 0.5, x1 + 0.5);
    }
    if y1 <= y0 {
        (y0, y1) = (y0 - 0.5, y1 + 0.5);
    }
    let sx = (right - left) / (x1 - x0);
    let sy = (bottom - top) / (y1 - y0);
    let px = |x: f64| left + (x - x0) * sx;
    let py = |y: f64| bottom - (y - y0) * sy;
    let r = if points.len() > 5000 {
        1.5
    } else if points.len() > 1000 {
        2.2
    } else {
        3.0
    };
    let mut s = String::with_capacity(points.len() * 110 + 4096);
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">"#
    );
    let _ = write!(s, "<title>{}</title>", escape(labels.title));
    let _ = write!(s, r##"<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>"##);
    let _ = write!(s, r##"<text x="16" y="22" font-size="15" fill="#202020">{}</text>"##, escape(labels.title));
    let _ = write!(s, r##"<text x="16" y="40" font-size="11" fill="#606060">{}</text>"##, escape(labels.subtitle));
    // Axes: a frame, ticks at round values, and the axes' names.
    let _ = write!(
        s,
        r##"<g class="axes" font-size="10" fill="#505050" stroke="#909090"><rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="none"/>"##,
        left - 4.0,
        top - 4.0,
        right - left + 8.0,
        bottom - top + 8.0
    );
    let (xt, xd) = ticks(x0, x1, 6);
    for v in xt {
        let x = px(v);
        let _ = write!(s, r#"<line x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{:.1}"/>"#, bottom + 4.0, bottom + 8.0);
        let _ = write!(s, r#"<text x="{x:.1}" y="{:.1}" text-anchor="middle" stroke="none">{v:.xd$}</text>"#, bottom + 19.0);
    }
    let (yt, yd) = ticks(y0, y1, 5);
    for v in yt {
        let y = py(v);
        let _ = write!(s, r#"<line x1="{:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}"/>"#, left - 8.0, left - 4.0);
        let _ = write!(s, r#"<text x="{:.1}" y="{:.1}" text-anchor="end" stroke="none">{v:.yd$}</text>"#, left - 10.0, y + 3.5);
    }
    let _ = write!(
        s,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="11" stroke="none">{}</text>"#,
        (left + right) / 2.0,
        h - 8.0,
        escape(labels.x_axis)
    );
    let _ = write!(
        s,
        r#"<text transform="translate(14 {:.1}) rotate(-90)" text-anchor="middle" font-size="11" stroke="none">{}</text></g>"#,
        (top + bottom) / 2.0,
        escape(labels.y_axis)
    );
    // Noise first, so that clusters are drawn over it; then clusters in order.
    let mut order: Vec<usize> = (0..points.len()).collect();
    order.sort_by_key(|&i| (points[i].cluster.unwrap_or(0) >= 0, points[i].cluster.unwrap_or(0)));
    s.push_str(r#"<g class="points" fill-opacity="0.8">"#);
    for i in order {
        let p = &points[i];
        if !(p.x.is_finite() && p.y.is_finite()) {
            continue;
        }
        let (cx, cy) = (px(p.x), py(p.y));
        let _ = write!(s, r#"<circle cx="{cx:.1}" cy="{cy:.1}" r="{r}" {}><title>{}</title></circle>"#, paint(p.cluster), escape(&p.id));
    }
    s.push_str("</g>");
    // Legend.
    let lx = w - legend_w;
    s.push_str(r#"<g class="legend" font-size="12">"#);
    let shown = if sizes.len() > LEGEND_MAX { LEGEND_MAX - 1 } else { sizes.len() };
    let mut y = top + 4.0;
    for &(c, n) in &sizes[..shown] {
        let label = match c {
            None => "all items".to_string(),
            Some(c) if c < 0 => "noise".to_string(),
            Some(c) => format!("cluster {c}"),
        };
        let _ = write!(s, r#"<circle cx="{:.1}" cy="{:.1}" r="5" {}/>"#, lx + 6.0, y - 4.0, paint(c));
        let mut text = format!("{label} ({n})");
        if let Some((_, words)) = c.and_then(|c| labels.keywords.iter().find(|k| k.0 == c)) {
            text = fit(&format!("{text}: {words}"), ((legend_w - 20.0) / 6.8) as usize);
        }
        let _ = write!(s, r##"<text x="{:.1}" y="{y:.1}" fill="#303030">{}</text>"##, lx + 16.0, escape(&text));
        y += 18.0;
    }
    if sizes.len() > shown {
        let rest: usize = sizes[shown..].iter().map(|e| e.1).sum();
        let _ =
            write!(s, r##"<text x="{:.1}" y="{y:.1}" fill="#303030">{} more clusters ({rest})</text>"##, lx + 16.0, sizes.len() - shown);
    }
    s.push_str("</g></svg>");
    s
}

/// `text` cut to at most `chars` characters, an ellipsis marking the cut.
fn fit(text: &str, chars: usize) -> String {
    if text.chars().count() <= chars {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(chars.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// How a cluster's marks are painted: filled in its colour, noise as a hollow grey ring.
fn paint(cluster: Option<i32>) -> String {
    match cluster {
        Some(c) if c < 0 => format!(r#"fill="none" stroke="{NOISE}" stroke-width="1""#),
        c => format!(r#"fill="{}""#, colour(c)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_circle_per_point_and_escaped_text() {
        let pts: Vec<Point> =
            (0..30).map(|i| Point { x: i as f64, y: (i * i) as f64, cluster: Some(i % 3 - 1), id: format!("item <{i}>") }).collect();
        let labels = Labels { title: "a <b> & c", subtitle: "sub", x_axis: "PC1", y_axis: "PC2", width: 800, height: 600, keywords: &[] };
        let svg = scatter(&pts, &[(Some(0), 10), (Some(1), 10), (Some(-1), 10)], &labels);
        assert_eq!(svg.matches("<circle").count(), 30 + 3);
        assert!(svg.contains("a &lt;b&gt; &amp; c") && svg.ends_with("</svg>"));
        assert!(svg.contains("<title>item &lt;7&gt;</title>") && svg.contains(">PC1</text>") && svg.contains(">PC2</text>"));
        // Noise is a hollow ring; no cluster is grey or drawn as noise is.
        assert_eq!(svg.matches(r##"fill="none" stroke="#b0b0b0""##).count(), 10 + 1);
        assert_ne!(colour(Some(25)), colour(Some(26)));
    }

    #[test]
    fn the_legend_names_clusters_by_their_words_cut_to_fit() {
        let pts: Vec<Point> = (0..4).map(|i| Point { x: i as f64, y: 0.0, cluster: Some(i % 2), id: i.to_string() }).collect();
        let words = [(0, "cat, dog, <mouse>".to_string()), (1, "word ".repeat(100))];
        let labels = Labels { title: "t", subtitle: "", x_axis: "x", y_axis: "y", width: 800, height: 600, keywords: &words };
        let svg = scatter(&pts, &[(Some(0), 2), (Some(1), 2)], &labels);
        assert!(svg.contains(">cluster 0 (2): cat, dog, &lt;mouse&gt;</text>"), "{svg}");
        let long = svg.split(">cluster 1 (2): ").nth(1).and_then(|t| t.split("</text>").next()).unwrap();
        assert!(long.ends_with('…') && long.chars().count() < 60, "{long}");
    }

    #[test]
    fn no_cluster_colour_is_grey() {
        for c in 0..200 {
            let col = colour(Some(c));
            if let Some(hex) = col.strip_prefix('#') {
                let v: Vec<i64> = (0..3).map(|i| i64::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap()).collect();
                let spread = v.iter().max().unwrap() - v.iter().min().unwrap();
                assert!(spread > 30, "cluster {c}: {col} is nearly grey");
            } else {
                assert!(col.contains(",65%,"), "{col}");
            }
        }
    }

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        assert_eq!(ticks(0.0, 10.0, 5), (vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0], 0));
        let (t, d) = ticks(-0.37, 0.52, 5);
        assert_eq!(d, 1);
        assert_eq!(t, vec![-0.2, 0.0, 0.2, 0.4]);
        assert!(t.iter().all(|v| (-0.37..=0.52).contains(v)));
        assert_eq!(ticks(3.0, 3.0, 5), (vec![3.0], 0));
    }
}
