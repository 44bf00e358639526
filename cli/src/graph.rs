//! The topology as a picture: failure domains hold machines (etcd members marked) and pools;
//! units point at the machines and pools that may run them. Graphviz DOT, Mermaid, or an SVG
//! laid out here, so it renders without Graphviz.

use std::fmt::Write as _;

use clusterdef::Plan;

/// A box of the picture: one machine, or one autoscaled pool in one domain.
struct Node {
    id: String,
    label: Vec<String>,
    etcd: bool,
}

/// A failure domain (or none) and its boxes.
struct Column {
    title: String,
    nodes: Vec<Node>,
}

/// The picture's content, shared by every format.
struct Topology {
    columns: Vec<Column>,
    /// (unit label, global, node ids it may run on)
    units: Vec<(String, bool, Vec<String>)>,
}

fn topology(plan: &Plan) -> Topology {
    let mut columns: Vec<Column> = Vec::new();
    let mut column = |title: String| -> usize {
        match columns.iter().position(|c| c.title == title) {
            Some(i) => i,
            None => {
                columns.push(Column { title, nodes: Vec::new() });
                columns.len() - 1
            }
        }
    };
    // Each box's key (a hostname, or `pool@domain` for an autoscaled pool), in box order.
    let mut places: Vec<String> = Vec::new();
    let mut count = 0usize;
    let mut next_id = || {
        count += 1;
        format!("n{count}")
    };
    let mut slots: Vec<(usize, Node)> = Vec::new();
    for g in &plan.groups {
        let title = |d: Option<&String>| match (g.domain_kind, d) {
            (Some(kind), Some(d)) => format!("{} {d}", kind.key()),
            _ => "no failure domain".to_string(),
        };
        if g.machines.is_empty() {
            let domains: Vec<Option<&String>> =
                if g.domains.is_empty() { vec![None] } else { g.domains.iter().map(Some).collect() };
            for d in domains {
                let id = next_id();
                places.push(format!("{}@{}", g.name, d.map_or("", |s| s.as_str())));
                slots.push((
                    column(title(d)),
                    Node { id, label: vec![g.name.clone(), format!("{} ({})", g.size, g.role)], etcd: false },
                ));
            }
        } else {
            for m in &g.machines {
                let id = next_id();
                let mut label = vec![m.hostname.clone()];
                if let Some(a) = m.address {
                    label.push(a.to_string());
                }
                label.push(if g.members { "etcd member".to_string() } else { g.role.clone() });
                places.push(m.hostname.clone());
                slots.push((column(title(m.domain.as_ref())), Node { id, label, etcd: g.members }));
            }
        }
    }
    let ids: Vec<(String, String)> = places.iter().cloned().zip(slots.iter().map(|(_, n)| n.id.clone())).collect();
    for (c, node) in slots {
        columns[c].nodes.push(node);
    }
    let units = plan
        .units
        .iter()
        .map(|u| {
            let mut targets = Vec::new();
            for e in &u.eligible {
                if e.hostnames.is_empty() {
                    let key = format!("{}@{}", e.group, e.domain.as_deref().unwrap_or(""));
                    targets.extend(ids.iter().filter(|(k, _)| *k == key).map(|(_, id)| id.clone()));
                } else {
                    for h in e.hostnames.iter() {
                        targets.extend(ids.iter().filter(|(k, _)| k == h).map(|(_, id)| id.clone()));
                    }
                }
            }
            (u.name.clone(), u.global, targets)
        })
        .collect();
    Topology { columns, units }
}

fn quote(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Graphviz DOT.
pub fn dot(plan: &Plan) -> String {
    let t = topology(plan);
    let mut out =
        format!("digraph \"{}\" {{\n  rankdir=LR;\n  node [shape=box, fontname=\"sans-serif\"];\n", quote(&plan.name));
    for (i, c) in t.columns.iter().enumerate() {
        let _ = writeln!(out, "  subgraph cluster_{i} {{\n    label=\"{}\";", quote(&c.title));
        for n in &c.nodes {
            let style = if n.etcd { ", style=filled, fillcolor=\"#f4cccc\", penwidth=2" } else { "" };
            let label: Vec<String> = n.label.iter().map(|l| quote(l)).collect();
            let _ = writeln!(out, "    {} [label=\"{}\"{style}];", n.id, label.join("\\n"));
        }
        out.push_str("  }\n");
    }
    for (i, (name, global, targets)) in t.units.iter().enumerate() {
        let _ = writeln!(out, "  u{i} [label=\"{}\", shape=ellipse];", quote(name));
        let style = if *global { "" } else { " [style=dashed]" };
        for target in targets {
            let _ = writeln!(out, "  u{i} -> {target}{style};");
        }
    }
    out.push_str("}\n");
    out
}

/// A Mermaid flowchart.
pub fn mermaid(plan: &Plan) -> String {
    let t = topology(plan);
    let label = |s: &str| s.replace('"', "#quot;");
    let mut out = String::from("flowchart LR\n");
    for (i, c) in t.columns.iter().enumerate() {
        let _ = writeln!(out, "  subgraph d{i}[\"{}\"]", label(&c.title));
        for n in &c.nodes {
            let text: Vec<String> = n.label.iter().map(|l| label(l)).collect();
            let class = if n.etcd { ":::etcd" } else { "" };
            let _ = writeln!(out, "    {}[\"{}\"]{class}", n.id, text.join("<br/>"));
        }
        out.push_str("  end\n");
    }
    for (i, (name, global, targets)) in t.units.iter().enumerate() {
        let _ = writeln!(out, "  u{i}([\"{}\"])", label(name));
        let arrow = if *global { "-->" } else { "-.->" };
        for target in targets {
            let _ = writeln!(out, "  u{i} {arrow} {target}");
        }
    }
    out.push_str("  classDef etcd fill:#f4cccc,stroke:#990000,stroke-width:2px\n");
    out
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// An SVG laid out here: one column per failure domain, the units in a row above, with lines
/// to where they may run (solid for global units).
pub fn svg(plan: &Plan) -> String {
    let t = topology(plan);
    let (box_w, box_h, gap, col_w, top) = (170.0, 58.0, 14.0, 200.0, 120.0);
    let rows = t.columns.iter().map(|c| c.nodes.len()).max().unwrap_or(0) as f64;
    let width = (t.columns.len().max(t.units.len()) as f64 * col_w + 40.0).max(400.0);
    let height = top + 40.0 + rows * (box_h + gap) + 20.0;
    let mut centers: Vec<(String, f64, f64)> = Vec::new();
    // Drawn in layers: domain backgrounds, then the lines, then the boxes, then the units.
    let mut background = String::new();
    let mut body = String::new();
    for (i, c) in t.columns.iter().enumerate() {
        let x = 20.0 + i as f64 * col_w;
        let _ = writeln!(
            background,
            "<rect x=\"{x}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#f7f7f7\" stroke=\"#999\"/><text x=\"{}\" y=\"{}\" font-weight=\"bold\">{}</text>",
            top - 10.0,
            box_w + 10.0,
            height - top - 5.0,
            x + 6.0,
            top + 8.0,
            xml(&c.title)
        );
        for (j, n) in c.nodes.iter().enumerate() {
            let y = top + 20.0 + j as f64 * (box_h + gap);
            let (fill, stroke) = if n.etcd { ("#f4cccc", "#990000") } else { ("#ffffff", "#333333") };
            let _ = writeln!(
                body,
                "<rect x=\"{}\" y=\"{y}\" width=\"{box_w}\" height=\"{box_h}\" rx=\"4\" fill=\"{fill}\" stroke=\"{stroke}\"/>",
                x + 5.0
            );
            for (k, line) in n.label.iter().enumerate() {
                let _ = writeln!(
                    body,
                    "<text x=\"{}\" y=\"{}\">{}</text>",
                    x + 12.0,
                    y + 16.0 + k as f64 * 15.0,
                    xml(line)
                );
            }
            centers.push((n.id.clone(), x + 5.0 + box_w / 2.0, y));
        }
    }
    let mut units = String::new();
    let mut lines = String::new();
    for (i, (name, global, targets)) in t.units.iter().enumerate() {
        let x = 20.0 + i as f64 * col_w + box_w / 2.0;
        let _ = writeln!(
            units,
            "<ellipse cx=\"{x}\" cy=\"40\" rx=\"{}\" ry=\"18\" fill=\"#e8f0fe\" stroke=\"#1a4c9c\"/><text x=\"{x}\" y=\"45\" text-anchor=\"middle\">{}</text>",
            box_w / 2.0,
            xml(name)
        );
        for target in targets {
            if let Some((_, tx, ty)) = centers.iter().find(|(id, _, _)| id == target) {
                let dash = if *global { "" } else { " stroke-dasharray=\"5,4\"" };
                let _ = writeln!(
                    lines,
                    "<line x1=\"{x}\" y1=\"58\" x2=\"{tx}\" y2=\"{ty}\" stroke=\"#1a4c9c\" stroke-opacity=\"0.5\"{dash}/>"
                );
            }
        }
    }
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"12\">\n<title>{}</title>\n{background}{lines}{body}{units}</svg>\n",
        xml(&plan.name)
    )
}
