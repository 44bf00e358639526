//! What Kubernetes accepts as an object name, a label or an image reference. O(len) each.

/// The label every control-plane node carries (Typhoon's).
pub const CONTROLLER_LABEL: &str = "node.kubernetes.io/controller";
/// The label every other node carries, with an empty value (Typhoon's).
pub const NODE_LABEL: &str = "node.kubernetes.io/node";
/// The zone label; node lifecycle's per-zone eviction limits read it.
pub const ZONE_LABEL: &str = "topology.kubernetes.io/zone";
/// The label naming the node (the kubelet sets it to the hostname).
pub const HOSTNAME_LABEL: &str = "kubernetes.io/hostname";
/// The taint that keeps pods that do not ask for the control plane off it (Typhoon's).
pub const CONTROLLER_TAINT: &str = "node-role.kubernetes.io/controller";
/// The label each workload's pods carry, naming the unit they come from; anti-affinity for
/// `conflicts` selects on it.
pub const UNIT_LABEL: &str = "clusterdef.dev/unit";
/// The label a conflict glob puts on the pods it matches: `clusterdef.dev/conflict-N`, N the
/// glob's index in `Cluster::conflict_globs`; the workloads declaring the glob are
/// anti-affine to it.
pub fn conflict_label(glob: usize) -> String {
    format!("clusterdef.dev/conflict-{glob}")
}

/// The namespace workloads go in.
pub const NAMESPACE: &str = "default";
/// The object name a unit becomes: its name without the type suffix and a template's `@`.
pub fn object_name(unit: &str) -> &str {
    let base = unit.rsplit_once('.').map_or(unit, |(b, _)| b);
    base.strip_suffix('@').unwrap_or(base)
}

/// Whether `name` is a DNS-1123 label: at most 63 lower-case letters, digits and `-`, starting
/// and ending with a letter or digit. O(len).
pub fn is_dns_label(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

/// Why `key` is no label key a kubelet may set on itself with `--node-labels`, if it is not:
/// syntax and lengths (an optional DNS-subdomain prefix of at most 253 characters, `/`, a name
/// of at most 63 alphanumerics with `-_.` inside), then the `kubernetes.io` and `k8s.io`
/// prefixes, of which the kubelet accepts only its own few. O(len).
pub fn label_key_problem(key: &str) -> Option<String> {
    let (prefix, name) = match key.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    if let Some(why) = label_name_problem(name) {
        return Some(why);
    }
    let prefix = prefix?;
    if prefix.is_empty() || prefix.len() > 253 || !prefix.split('.').all(is_dns_label) {
        return Some(format!("its prefix `{prefix}` is no lower-case DNS subdomain of at most 253 characters"));
    }
    let reserved = |domain: &str| prefix == domain || prefix.ends_with(&format!(".{domain}"));
    let kubelets = ["kubelet.kubernetes.io", "node.kubernetes.io"].iter().any(|d| reserved(d));
    let fixed = [
        HOSTNAME_LABEL,
        "kubernetes.io/os",
        "kubernetes.io/arch",
        "beta.kubernetes.io/os",
        "beta.kubernetes.io/arch",
        "beta.kubernetes.io/instance-type",
        "node.kubernetes.io/instance-type",
        ZONE_LABEL,
        "topology.kubernetes.io/region",
        "failure-domain.beta.kubernetes.io/zone",
        "failure-domain.beta.kubernetes.io/region",
    ];
    if (reserved("kubernetes.io") || reserved("k8s.io")) && !kubelets && !fixed.contains(&key) {
        return Some(format!(
            "the prefix `{prefix}` is reserved for Kubernetes, and a kubelet refuses to start with such a label in `--node-labels`"
        ));
    }
    None
}

/// Why `name` is no label name (or, with `allow_empty`, value), if it is not. O(len).
fn label_name_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("it is empty".to_string());
    }
    label_value_problem(name)
}

/// Why `value` is no label value, if it is not: at most 63 characters, empty or alphanumeric
/// at both ends with `-`, `_` and `.` inside. O(len).
pub fn label_value_problem(value: &str) -> Option<String> {
    let b = value.as_bytes();
    if b.len() > 63 {
        return Some(format!("it is {} characters long; a label allows 63", value.chars().count()));
    }
    if b.is_empty() {
        return None;
    }
    let alnum = |c: &u8| c.is_ascii_alphanumeric();
    if !b.iter().all(|c| alnum(c) || matches!(c, b'-' | b'_' | b'.')) || !alnum(&b[0]) || !alnum(&b[b.len() - 1]) {
        return Some(
            "a label holds only ASCII letters, digits, `-`, `_` and `.`, and starts and ends with a letter or digit"
                .to_string(),
        );
    }
    None
}

/// The node labels the kubelet sets on its node itself (the well-known labels), the first of
/// them from the machine's hostname.
pub const KUBELET_LABELS: &[&str] = &[
    HOSTNAME_LABEL,
    "kubernetes.io/os",
    "kubernetes.io/arch",
    "beta.kubernetes.io/os",
    "beta.kubernetes.io/arch",
    "beta.kubernetes.io/instance-type",
    "node.kubernetes.io/instance-type",
    "topology.kubernetes.io/region",
    "failure-domain.beta.kubernetes.io/zone",
    "failure-domain.beta.kubernetes.io/region",
];

/// Who sets the node label `key` if not the declaration: clusterdef (the control-plane and
/// node role labels, the zone label every failure domain becomes) or the kubelet (its
/// well-known labels). A declared value would silently replace theirs: `--node-labels`
/// overwrites even the kubelet's own hostname label, so machines would share one hostname
/// domain while the plan counts each as a node of its own. O(1).
pub fn label_set_by_others(key: &str) -> Option<&'static str> {
    if [CONTROLLER_LABEL, NODE_LABEL, ZONE_LABEL].contains(&key) {
        Some("clusterdef")
    } else if KUBELET_LABELS.contains(&key) {
        Some("the kubelet")
    } else {
        None
    }
}

/// `value` as Kubernetes must receive it to use it as written in a container's command or
/// environment: Kubernetes expands `$(NAME)` there to another variable's value and reads `$$`
/// as one `$`, so each `$` followed by `$` or `(` is doubled. Anything else is left alone
/// (Kubernetes leaves a lone `$` as it is). O(len).
pub fn escape_expansion(value: &str) -> std::borrow::Cow<'_, str> {
    if !value.contains("$$") && !value.contains("$(") {
        return std::borrow::Cow::Borrowed(value);
    }
    let mut out = String::with_capacity(value.len() + 8);
    let bytes = value.as_bytes();
    for (i, ch) in value.char_indices() {
        out.push(ch);
        if ch == '$' && matches!(bytes.get(i + 1), Some(b'$' | b'(')) {
            out.push('$');
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Whether `digits` is a number written canonically: ASCII digits, no leading zero but in `0`
/// itself, at most `max_len` of them. O(len).
pub fn is_canonical_number(digits: &str, max_len: usize) -> bool {
    !digits.is_empty()
        && digits.len() <= max_len
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Kubernetes' own expansion (third_party/forked/golang/expansion), for the escape's test:
    /// `$$` is one `$`, `$(NAME)` a defined variable's value (else left as written).
    fn expand(input: &str, vars: &[(&str, &str)]) -> String {
        let b = input.as_bytes();
        let (mut out, mut i, mut checkpoint) = (String::new(), 0, 0);
        while i < b.len() {
            if b[i] == b'$' && i + 1 < b.len() {
                out.push_str(&input[checkpoint..i]);
                let rest = &input[i + 1..];
                let advance = match rest.as_bytes()[0] {
                    b'$' => {
                        out.push('$');
                        1
                    }
                    b'(' => match rest.find(')') {
                        Some(close) => {
                            let name = &rest[1..close];
                            match vars.iter().find(|(n, _)| *n == name) {
                                Some((_, v)) => out.push_str(v),
                                None => out.push_str(&format!("$({name})")),
                            }
                            close + 1
                        }
                        None => {
                            out.push_str("$(");
                            1
                        }
                    },
                    _ => {
                        let ch = rest.chars().next().unwrap_or_default();
                        out.push('$');
                        out.push(ch);
                        ch.len_utf8()
                    }
                };
                i += advance;
                checkpoint = i + 1;
            }
            i += 1;
        }
        out + &input[checkpoint.min(input.len())..]
    }

    #[test]
    fn escaped_values_reach_the_container_as_written() {
        let vars = [("A", "1"), ("B", "two")];
        assert_eq!(expand("$(A)-$$(B)", &vars), "1-$(B)", "the reference expansion");
        let cases = [
            "$(A)", "B=$(A)", "$$(A)", "$$$(A)", "a$$b", "$", "a$", "$(", "$()", "cost: $5", "$(A", "é$(A)é", "$$",
            "x$$$",
        ];
        for value in cases {
            assert_eq!(expand(&escape_expansion(value), &vars), value, "{value:?} as {:?}", escape_expansion(value));
        }
        let mut seed = 0x9e37_79b9_u64;
        for _ in 0..2_000 {
            let value: String = (0..12)
                .map(|_| {
                    seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    ['$', '(', ')', 'A', 'B', 'x', 'é'][(seed >> 33) as usize % 7]
                })
                .collect();
            assert_eq!(expand(&escape_expansion(&value), &vars), value, "{value:?}");
        }
        assert!(matches!(escape_expansion("plain $HOME"), std::borrow::Cow::Borrowed(_)));
    }

    #[test]
    fn labels_the_kubelet_or_clusterdef_set_are_theirs() {
        for key in ["kubernetes.io/hostname", "topology.kubernetes.io/zone", "node.kubernetes.io/controller"] {
            assert!(label_set_by_others(key).is_some(), "{key}");
        }
        assert_eq!(label_set_by_others("disk"), None);
        assert_eq!(label_set_by_others("node.kubernetes.io/exclude-from-external-load-balancers"), None);
    }
}
