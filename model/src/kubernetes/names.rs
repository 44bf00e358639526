//! What Kubernetes accepts as an object name, a label or an image reference. O(len) each.

use super::{HOSTNAME_LABEL, ZONE_LABEL};

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

/// Why `image` is no container image reference, if it is not: `[host[:port]/]path[:tag][@digest]`
/// with a lower-case path of `[a-z0-9]` components joined by `.`, `_`, `__` or `-` runs, a tag of
/// at most 128 `[\w.-]` characters not starting with `.` or `-`, a `sha256:` digest of 64 hex
/// digits; at most 255 characters for the name. O(len).
pub fn image_problem(image: &str) -> Option<String> {
    if image.is_empty() {
        return Some("it is empty".to_string());
    }
    if image.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Some("it holds whitespace or a control character".to_string());
    }
    let (rest, digest) = match image.split_once('@') {
        Some((r, d)) => (r, Some(d)),
        None => (image, None),
    };
    if let Some(d) = digest {
        let ok = d
            .strip_prefix("sha256:")
            .is_some_and(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        if !ok {
            return Some(format!("its digest `{d}` is not `sha256:` and 64 lower-case hex digits"));
        }
    }
    // A tag follows the last `:` after the last `/` (a `:` before it is a registry port).
    let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match rest[last_slash..].rfind(':') {
        Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
        None => (rest, None),
    };
    if let Some(t) = tag {
        let b = t.as_bytes();
        if b.is_empty()
            || b.len() > 128
            || !b.iter().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
            || matches!(b[0], b'.' | b'-')
        {
            return Some(format!(
                "its tag `{t}` is not 1 to 128 letters, digits, `_`, `.` or `-` (not starting with `.` or `-`)"
            ));
        }
    }
    if name.len() > 255 {
        return Some("its name is longer than 255 characters".to_string());
    }
    let mut parts: Vec<&str> = name.split('/').collect();
    // A first part with a `.` or `:`, or `localhost`, is a registry host.
    if parts.len() > 1 && (parts[0].contains(['.', ':']) || parts[0] == "localhost") {
        let host = parts.remove(0);
        let (h, port) = host.split_once(':').map_or((host, None), |(h, p)| (h, Some(p)));
        let host_ok = !h.is_empty()
            && h.split('.').all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
        let port_ok = port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()));
        if !host_ok || !port_ok {
            return Some(format!("its registry `{host}` is no host name with an optional port"));
        }
    }
    for part in &parts {
        let b = part.as_bytes();
        let component_ok = !b.is_empty()
            && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'.' | b'_' | b'-'))
            && b[0].is_ascii_alphanumeric()
            && b[b.len() - 1].is_ascii_alphanumeric()
            && !part.contains("..")
            && !part.contains("___");
        if !component_ok {
            return Some(format!(
                "its path component `{part}` is not lower-case letters and digits joined by `.`, `_`, `__` or `-`"
            ));
        }
    }
    None
}
