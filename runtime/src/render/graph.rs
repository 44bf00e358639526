//! The topology as a picture, from the plan: failure domains side by side, each holding a box per
//! group of machines in it (etcd members marked), and the units above with an edge to every group
//! box that may run them (solid for global units, dashed for one of). With Kubernetes, the
//! workloads are drawn the same way (a DaemonSet solid, a Deployment dashed) with the pods they
//! want. Drawn after a failure domain's loss (`*_after`), the lost domain's boxes are struck
//! through, no edge goes to them, and a box beside the domains says what the plan says the loss
//! leaves: the members and whether etcd keeps its quorum, and with Kubernetes whether the
//! control plane serves and each workload's pods (running, pending). Graphviz DOT, Mermaid, or
//! an SVG laid out here, so it renders without Graphviz.
//!
//! Edges go to group boxes, not machines, so a picture of fifty machines has as many edges as one
//! of five. In the SVG each edge runs down from its unit to a row of its own above the boxes,
//! across to a lane of its own in the gap left of the target's column, and down that lane into
//! the box's side: no edge crosses a box, and no two edges share a segment.

use std::fmt::Write as _;

use super::Plan;

/// A box: the machines of one group in one failure domain.
struct GroupBox {
    id: String,
    title: String,
    lines: Vec<String>,
    etcd: bool,
    /// In the domain the picture shows lost.
    lost: bool,
}

/// A failure domain (or none) and its boxes.
struct Column {
    title: String,
    boxes: Vec<GroupBox>,
}

/// A unit and the boxes it may run on.
struct UnitNode {
    name: String,
    global: bool,
    targets: Vec<(usize, usize)>,
}

/// The picture's content, shared by every format.
struct Topology {
    columns: Vec<Column>,
    units: Vec<UnitNode>,
}

/// Hostnames a box lists before it only counts the rest.
const LISTED: usize = 4;

/// Why a picture after a loss cannot be drawn: the plan has no such failure domain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownDomain {
    /// The domain asked for.
    pub asked: String,
    /// The plan's failure domains, in order.
    pub known: Vec<String>,
}

impl std::fmt::Display for UnknownDomain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.known.is_empty() {
            write!(f, "the cluster has no failure domain, so `{}` cannot be lost", self.asked)
        } else {
            write!(f, "no failure domain `{}`; the cluster's are {}", self.asked, self.known.join(", "))
        }
    }
}

/// The loss the picture shows, found in the plan.
fn loss_of<'p>(plan: &'p Plan, lost: &str) -> Result<&'p super::plan::DomainLoss, UnknownDomain> {
    plan.domain_losses.iter().find(|l| l.domain == lost).ok_or_else(|| UnknownDomain {
        asked: lost.to_string(),
        known: plan.domain_losses.iter().map(|l| l.domain.clone()).collect(),
    })
}

/// The picture's content; with `loss`, drawn after that domain's loss. O(boxes × (units +
/// workloads' eligible kinds)).
fn topology(plan: &Plan, loss: Option<&super::plan::DomainLoss>) -> Topology {
    let mut columns: Vec<Column> = Vec::new();
    // (group, domain) of each box, to point units at.
    let mut keys: Vec<(String, Option<String>, usize, usize)> = Vec::new();
    for g in &plan.groups {
        let domains: Vec<Option<&String>> =
            if g.domains.is_empty() { vec![None] } else { g.domains.iter().map(Some).collect() };
        for d in domains {
            let machines: Vec<&String> =
                g.machines.iter().filter(|m| m.domain.as_ref() == d).map(|m| &m.hostname).collect();
            if machines.is_empty() && !g.machines.is_empty() {
                continue;
            }
            let is_lost = loss.is_some_and(|l| d == Some(&l.domain));
            let title = match (g.domain_kind, d) {
                (Some(kind), Some(d)) if is_lost => format!("{} {d} (lost)", kind.key()),
                (Some(kind), Some(d)) => format!("{} {d}", kind.key()),
                _ => "no failure domain".to_string(),
            };
            let c = columns.iter().position(|c| c.title == title).unwrap_or_else(|| {
                columns.push(Column { title, boxes: Vec::new() });
                columns.len() - 1
            });
            let mut lines = Vec::new();
            if machines.is_empty() {
                lines.push(format!("{} machines", g.size));
            } else {
                lines.extend(machines.iter().take(LISTED).map(|h| h.to_string()));
                if machines.len() > LISTED {
                    lines.push(format!("… {} more", machines.len() - LISTED));
                }
            }
            let role = if g.members { "etcd members".to_string() } else { format!("role {}", g.role) };
            let id = format!("g{}_{}", c, columns[c].boxes.len());
            let count = if machines.is_empty() { String::new() } else { format!(" ({})", machines.len()) };
            keys.push((g.name.clone(), d.cloned(), c, columns[c].boxes.len()));
            columns[c].boxes.push(GroupBox {
                id,
                title: format!("{}{count} · {role}", g.name),
                lines,
                etcd: g.members,
                lost: is_lost,
            });
        }
    }
    // No edge into a lost box: nothing runs there while it is gone.
    let live = |c: usize, b: usize, columns: &[Column]| !columns[c].boxes[b].lost;
    let mut units: Vec<UnitNode> = plan
        .units
        .iter()
        .map(|u| {
            let mut targets: Vec<(usize, usize)> = u
                .eligible
                .iter()
                .filter_map(|e| keys.iter().find(|(g, d, _, _)| *g == e.group && *d == e.domain))
                .map(|(_, _, c, b)| (*c, *b))
                .filter(|&(c, b)| live(c, b, &columns))
                .collect();
            targets.dedup();
            UnitNode { name: u.name.clone(), global: u.global, targets }
        })
        .collect();
    let k_loss = match (&plan.kubernetes, loss) {
        (Some(k), Some(l)) => k.losses.iter().find(|kl| kl.domain == l.domain),
        _ => None,
    };
    if let Some(k) = &plan.kubernetes {
        for w in &k.workloads {
            let targets: Vec<(usize, usize)> = keys
                .iter()
                .filter(|(g, d, _, _)| w.eligible.contains(&clusterdef_model::kubernetes::kind_name(g, d.as_deref())))
                .map(|(_, _, c, b)| (*c, *b))
                .filter(|&(c, b)| live(c, b, &columns))
                .collect();
            let pods = if w.kind == "DaemonSet" { "a pod per node".to_string() } else { plural_pods(w.wanted) };
            let mut name = format!("{} · {pods}", w.name);
            if let Some(kl) = k_loss {
                match kl.workloads.iter().find(|s| s.name == w.name) {
                    Some(s) => name.push_str(&format!(": {} of {} run", s.running, s.wanted)),
                    None => name.push_str(": all run"),
                }
            }
            units.push(UnitNode { name, global: w.kind == "DaemonSet", targets });
        }
    }
    if let Some(l) = loss {
        let mut lines = vec![format!(
            "etcd: {} of {} members left, {} needed: {}",
            l.members_left,
            l.members_left + l.members_lost,
            l.quorum,
            if l.keeps_quorum { "quorum kept" } else { "quorum lost, no writes" }
        )];
        if let Some(kl) = k_loss {
            lines.push(
                if kl.control_plane {
                    "control plane serves"
                } else {
                    "control plane stopped: nothing is placed again"
                }
                .to_string(),
            );
            for s in &kl.workloads {
                let pending = s.wanted.saturating_sub(s.running);
                lines.push(format!("{}: {} of {} run, {pending} pending", s.name, s.running, s.wanted));
            }
        }
        let c = columns.len();
        columns.push(Column {
            title: format!("after losing {} {}", l.kind.key(), l.domain),
            boxes: vec![GroupBox {
                id: format!("g{c}_0"),
                title: "what the plan says".to_string(),
                lines,
                etcd: false,
                lost: false,
            }],
        });
    }
    Topology { columns, units }
}

fn plural_pods(n: u32) -> String {
    if n == 1 { "1 pod".to_string() } else { format!("{n} pods") }
}

fn quote(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Graphviz DOT.
pub fn dot(plan: &Plan) -> String {
    dot_of(&topology(plan, None), plan)
}

/// Graphviz DOT, after the loss of failure domain `lost`.
pub fn dot_after(plan: &Plan, lost: &str) -> Result<String, UnknownDomain> {
    Ok(dot_of(&topology(plan, Some(loss_of(plan, lost)?)), plan))
}

fn dot_of(t: &Topology, plan: &Plan) -> String {
    let mut out =
        format!("digraph \"{}\" {{\n  rankdir=LR;\n  node [shape=box, fontname=\"sans-serif\"];\n", quote(&plan.name));
    for (i, c) in t.columns.iter().enumerate() {
        let _ = writeln!(out, "  subgraph cluster_{i} {{\n    label=\"{}\";", quote(&c.title));
        for b in &c.boxes {
            let style = match (b.lost, b.etcd) {
                (true, _) => ", style=dashed, color=\"#999999\", fontcolor=\"#999999\"",
                (false, true) => ", style=filled, fillcolor=\"#f4cccc\", penwidth=2",
                (false, false) => "",
            };
            let label: Vec<String> = std::iter::once(&b.title).chain(&b.lines).map(|l| quote(l)).collect();
            let _ = writeln!(out, "    {} [label=\"{}\"{style}];", b.id, label.join("\\n"));
        }
        out.push_str("  }\n");
    }
    for (i, u) in t.units.iter().enumerate() {
        let _ = writeln!(out, "  u{i} [label=\"{}\", shape=ellipse];", quote(&u.name));
        let style = if u.global { "" } else { " [style=dashed]" };
        for &(c, b) in &u.targets {
            let _ = writeln!(out, "  u{i} -> {}{style};", t.columns[c].boxes[b].id);
        }
    }
    out.push_str("}\n");
    out
}

/// A Mermaid flowchart.
pub fn mermaid(plan: &Plan) -> String {
    mermaid_of(&topology(plan, None))
}

/// A Mermaid flowchart, after the loss of failure domain `lost`.
pub fn mermaid_after(plan: &Plan, lost: &str) -> Result<String, UnknownDomain> {
    Ok(mermaid_of(&topology(plan, Some(loss_of(plan, lost)?))))
}

fn mermaid_of(t: &Topology) -> String {
    let label = |s: &str| s.replace('"', "#quot;");
    let mut out = String::from("flowchart LR\n");
    for (i, c) in t.columns.iter().enumerate() {
        let _ = writeln!(out, "  subgraph d{i}[\"{}\"]", label(&c.title));
        for b in &c.boxes {
            let text: Vec<String> = std::iter::once(&b.title).chain(&b.lines).map(|l| label(l)).collect();
            let class = match (b.lost, b.etcd) {
                (true, _) => ":::lost",
                (false, true) => ":::etcd",
                (false, false) => "",
            };
            let _ = writeln!(out, "    {}[\"{}\"]{class}", b.id, text.join("<br/>"));
        }
        out.push_str("  end\n");
    }
    for (i, u) in t.units.iter().enumerate() {
        let _ = writeln!(out, "  u{i}([\"{}\"])", label(&u.name));
        let arrow = if u.global { "-->" } else { "-.->" };
        for &(c, b) in &u.targets {
            let _ = writeln!(out, "  u{i} {arrow} {}", t.columns[c].boxes[b].id);
        }
    }
    out.push_str("  classDef etcd fill:#f4cccc,stroke:#990000,stroke-width:2px\n");
    out.push_str("  classDef lost fill:#eeeeee,stroke:#999999,stroke-dasharray:4 3,color:#999999\n");
    out
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Colours of the units' edges, in turn, so edges can be told apart where they run side by side.
const EDGE_COLOURS: [&str; 6] = ["#1a4c9c", "#b45f06", "#38761d", "#741b47", "#0b5394", "#7f6000"];

/// An SVG laid out here: units in a row on top, failure domains in columns below, each column's
/// group boxes stacked; edges routed through their own row and lane (see the module's docs).
pub fn svg(plan: &Plan) -> String {
    svg_of(&topology(plan, None), plan)
}

/// The SVG, after the loss of failure domain `lost`.
pub fn svg_after(plan: &Plan, lost: &str) -> Result<String, UnknownDomain> {
    Ok(svg_of(&topology(plan, Some(loss_of(plan, lost)?)), plan))
}

fn svg_of(t: &Topology, plan: &Plan) -> String {
    let units = t.units.len();
    let (box_w, line_h, unit_w, unit_h) = (190.0, 15.0, 170.0, 34.0);
    // Each unit gets a lane in every gap, so the gap widens with the units.
    let lane = 7.0;
    let gap = 24.0 + lane * units as f64;
    let col_w = box_w + gap;
    let units_y = 20.0;
    let bus_top = units_y + unit_h + 20.0;
    let domains_y = bus_top + 10.0 + 8.0 * units as f64;
    let box_height = |b: &GroupBox| 26.0 + line_h * b.lines.len() as f64;
    // Boxes: (x, y, height) per column and box.
    let mut placed: Vec<Vec<(f64, f64, f64)>> = Vec::new();
    let mut deepest: f64 = domains_y;
    for (i, c) in t.columns.iter().enumerate() {
        let x = gap + i as f64 * col_w;
        let mut y = domains_y + 28.0;
        let mut col = Vec::new();
        for b in &c.boxes {
            let h = box_height(b);
            col.push((x + 8.0, y, h));
            y += h + 16.0;
        }
        deepest = deepest.max(y);
        placed.push(col);
    }
    let width = (gap + t.columns.len() as f64 * col_w).max(gap + units as f64 * (unit_w + 20.0)) + 20.0;
    let height = deepest + 20.0;

    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"12\">\n<title>{}</title>\n<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n",
        xml(&plan.name)
    );
    // Domains, then edges, then boxes and units on top.
    for (i, c) in t.columns.iter().enumerate() {
        let x = gap + i as f64 * col_w;
        let _ = writeln!(
            out,
            "<rect x=\"{x}\" y=\"{domains_y}\" width=\"{}\" height=\"{}\" rx=\"6\" fill=\"#f3f3f3\" stroke=\"#999\"/><text x=\"{}\" y=\"{}\" font-weight=\"bold\">{}</text>",
            box_w + 16.0,
            deepest - domains_y,
            x + 8.0,
            domains_y + 18.0,
            xml(&c.title)
        );
    }
    for (i, u) in t.units.iter().enumerate() {
        let colour = EDGE_COLOURS[i % EDGE_COLOURS.len()];
        let dash = if u.global { "" } else { " stroke-dasharray=\"6,4\"" };
        let ux = gap + i as f64 * (unit_w + 20.0) + unit_w / 2.0;
        let bus = bus_top + 8.0 * i as f64;
        for &(c, b) in &u.targets {
            let (bx, by, bh) = placed[c][b];
            // The lane of this unit in the gap left of column `c`.
            let lane_x = gap + c as f64 * col_w - 12.0 - lane * i as f64;
            // Each unit arrives at its own height on the box's side.
            let ty = by + bh * (i + 1) as f64 / (units + 1) as f64;
            let _ = writeln!(
                out,
                "<polyline points=\"{ux},{} {ux},{bus} {lane_x},{bus} {lane_x},{ty} {bx},{ty}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"1.5\"{dash}/><circle cx=\"{bx}\" cy=\"{ty}\" r=\"2.5\" fill=\"{colour}\"/>",
                units_y + unit_h
            );
        }
    }
    for (c, column) in t.columns.iter().enumerate() {
        for (b, group) in column.boxes.iter().enumerate() {
            let (x, y, h) = placed[c][b];
            let (fill, stroke, dash) = match (group.lost, group.etcd) {
                (true, _) => ("#eeeeee", "#999999", " stroke-dasharray=\"4,3\""),
                (false, true) => ("#f4cccc", "#990000", ""),
                (false, false) => ("#ffffff", "#333333", ""),
            };
            let _ = writeln!(
                out,
                "<rect x=\"{x}\" y=\"{y}\" width=\"{box_w}\" height=\"{h}\" rx=\"4\" fill=\"{fill}\" stroke=\"{stroke}\"{dash}/><text x=\"{}\" y=\"{}\" font-weight=\"bold\">{}</text>",
                x + 7.0,
                y + 16.0,
                xml(&group.title)
            );
            for (k, line) in group.lines.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "<text x=\"{}\" y=\"{}\">{}</text>",
                    x + 7.0,
                    y + 32.0 + k as f64 * line_h,
                    xml(line)
                );
            }
        }
    }
    for (i, u) in t.units.iter().enumerate() {
        let x = gap + i as f64 * (unit_w + 20.0);
        let colour = EDGE_COLOURS[i % EDGE_COLOURS.len()];
        let how = if u.global { "each" } else { "one of" };
        let _ = writeln!(
            out,
            "<rect x=\"{x}\" y=\"{units_y}\" width=\"{unit_w}\" height=\"{unit_h}\" rx=\"17\" fill=\"#e8f0fe\" stroke=\"{colour}\" stroke-width=\"1.5\"/><text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text><text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"10\" fill=\"#555\">runs on {how}</text>",
            x + unit_w / 2.0,
            units_y + 15.0,
            xml(&u.name),
            x + unit_w / 2.0,
            units_y + 28.0
        );
    }
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synthetic::cluster;
    use crate::{Cluster, Render};

    fn boxes(svg: &str) -> Vec<(f64, f64, f64, f64)> {
        svg.lines()
            .filter(|l| l.starts_with("<rect x=") && l.contains("rx=\"4\""))
            .map(|l| {
                let attr = |name: &str| -> f64 {
                    let start = l.find(&format!(" {name}=\"")).map(|i| i + name.len() + 3).unwrap_or(0);
                    l[start..].split('"').next().and_then(|v| v.parse().ok()).unwrap_or(f64::NAN)
                };
                (attr("x"), attr("y"), attr("width"), attr("height"))
            })
            .collect()
    }

    fn segments(svg: &str) -> Vec<((f64, f64), (f64, f64))> {
        let mut out = Vec::new();
        for l in svg.lines().filter(|l| l.starts_with("<polyline")) {
            let points: Vec<(f64, f64)> = l["<polyline points=\"".len()..]
                .split('"')
                .next()
                .unwrap_or_default()
                .split(' ')
                .filter_map(|p| p.split_once(','))
                .filter_map(|(x, y)| Some((x.parse().ok()?, y.parse().ok()?)))
                .collect();
            out.extend(points.windows(2).map(|w| (w[0], w[1])));
        }
        out
    }

    /// No edge segment passes through a group box, except the last one, which ends at the box's
    /// side; checked on the seed-sized cluster and on one of fifty machines with twelve units.
    #[test]
    fn edges_reach_group_boxes_without_crossing_any() {
        let mut big: Cluster = cluster(50, 12);
        big.name = std::borrow::Cow::Borrowed("fifty");
        for c in [cluster(20, 3), big] {
            let picture = svg(&c.plan());
            let (boxes, lines) = (boxes(&picture), segments(&picture));
            assert!(!lines.is_empty());
            for ((x1, y1), (x2, y2)) in &lines {
                for (bx, by, bw, bh) in &boxes {
                    let inside =
                        |x: f64, y: f64| x > *bx + 0.5 && x < bx + bw - 0.5 && y > *by + 0.5 && y < by + bh - 0.5;
                    // Segments are axis-aligned: sample along them.
                    let crosses = (0..=20).any(|k| {
                        let f = f64::from(k) / 20.0;
                        inside(x1 + (x2 - x1) * f, y1 + (y2 - y1) * f)
                    });
                    assert!(!crosses, "{}: an edge ({x1},{y1})-({x2},{y2}) crosses a box at ({bx},{by})", c.name);
                }
            }
            // Every edge ends on the left side of some box.
            for l in picture.lines().filter(|l| l.starts_with("<polyline")) {
                let end = segments(l).last().map(|s| s.1).expect("an end");
                assert!(
                    boxes.iter().any(|(bx, by, _, bh)| (end.0 - bx).abs() < 0.01 && end.1 > *by && end.1 < by + bh)
                );
            }
        }
    }
}
