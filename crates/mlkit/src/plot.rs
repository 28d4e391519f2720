//! An SVG scatter plot of a run: one `<circle>` a point, coloured by cluster (noise grey),
//! with a title and a legend of cluster sizes. Plain text out; no drawing library.

use std::fmt::Write;

/// Matplotlib's `tab20` colours, in its order; clusters past 20 take evenly turned hues.
const PALETTE: [&str; 20] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#aec7e8", "#ffbb78",
    "#98df8a", "#ff9896", "#c5b0d5", "#c49c94", "#f7b6d2", "#c7c7c7", "#dbdb8d", "#9edae5",
];
/// Noise (cluster −1).
const NOISE: &str = "#b0b0b0";
/// Legend entries shown before the rest are summed up in one line.
const LEGEND_MAX: usize = 20;

/// A point to draw: coordinates and cluster (`None`: the run has no clusters; `-1`: noise).
#[derive(Debug, Clone, Copy)]
pub struct Point {
    pub x: f64,
    pub y: f64,
    pub cluster: Option<i32>,
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
/// (cluster and its item count, largest first), `title` and `subtitle` on top.
pub fn scatter(points: &[Point], sizes: &[(Option<i32>, usize)], title: &str, subtitle: &str, width: u32, height: u32) -> String {
    let (w, h) = (width as f64, height as f64);
    let legend_w = (w * 0.22).clamp(90.0, 220.0);
    let (left, top, right, bottom) = (16.0, 52.0, w - legend_w - 8.0, h - 16.0);
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
    let sx = if x1 > x0 { (right - left) / (x1 - x0) } else { 0.0 };
    let sy = if y1 > y0 { (bottom - top) / (y1 - y0) } else { 0.0 };
    let r = if points.len() > 5000 {
        1.5
    } else if points.len() > 1000 {
        2.2
    } else {
        3.0
    };
    let mut s = String::with_capacity(points.len() * 80 + 4096);
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">"#
    );
    let _ = write!(s, "<title>{}</title>", escape(title));
    let _ = write!(s, r##"<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>"##);
    let _ = write!(s, r##"<text x="{left}" y="22" font-size="15" fill="#202020">{}</text>"##, escape(title));
    let _ = write!(s, r##"<text x="{left}" y="40" font-size="11" fill="#606060">{}</text>"##, escape(subtitle));
    let _ = write!(
        s,
        r##"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="none" stroke="#e0e0e0"/>"##,
        left - 4.0,
        top - 4.0,
        right - left + 8.0,
        bottom - top + 8.0
    );
    // Noise first, so that clusters are drawn over it; then clusters in order.
    let mut order: Vec<usize> = (0..points.len()).collect();
    order.sort_by_key(|&i| (points[i].cluster.unwrap_or(0) >= 0, points[i].cluster.unwrap_or(0)));
    s.push_str(r#"<g class="points" fill-opacity="0.8">"#);
    for i in order {
        let p = points[i];
        if !(p.x.is_finite() && p.y.is_finite()) {
            continue;
        }
        let cx = if sx > 0.0 { left + (p.x - x0) * sx } else { (left + right) / 2.0 };
        let cy = if sy > 0.0 { bottom - (p.y - y0) * sy } else { (top + bottom) / 2.0 };
        let _ = write!(s, r#"<circle cx="{cx:.1}" cy="{cy:.1}" r="{r}" fill="{}"/>"#, colour(p.cluster));
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
        let _ = write!(s, r#"<circle cx="{:.1}" cy="{:.1}" r="5" fill="{}"/>"#, lx + 6.0, y - 4.0, colour(c));
        let _ = write!(s, r##"<text x="{:.1}" y="{y:.1}" fill="#303030">{} ({n})</text>"##, lx + 16.0, escape(&label));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_circle_per_point_and_escaped_text() {
        let pts: Vec<Point> = (0..30).map(|i| Point { x: i as f64, y: (i * i) as f64, cluster: Some(i % 3 - 1) }).collect();
        let svg = scatter(&pts, &[(Some(0), 10), (Some(1), 10), (Some(-1), 10)], "a <b> & c", "sub", 800, 600);
        assert_eq!(svg.matches("<circle").count(), 30 + 3);
        assert!(svg.contains("a &lt;b&gt; &amp; c") && svg.ends_with("</svg>"));
        assert_eq!(colour(Some(-1)), NOISE);
        assert_ne!(colour(Some(25)), colour(Some(26)));
    }
}
