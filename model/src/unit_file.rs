//! A unit file's text read as systemd reads it (systemd.syntax(7)), for every rule and renderer
//! that asks what a body says: lines ending in `\` continue on the next (the backslash read as a
//! space), comment lines (`#`, `;`) are skipped, also in the middle of a continuation, a
//! section starts at a line that is `[Name]`, and an assignment is `Key=value` with blanks
//! around both trimmed; an empty assignment resets a list setting.

/// The logical lines of `text`, continuations joined, comment and blank lines left out, each
/// trimmed. O(len).
pub fn logical_lines(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut pending: Option<String> = None;
    for raw in text.lines() {
        let line = raw.trim();
        if line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        let (body, continues) = match line.strip_suffix('\\') {
            Some(body) => (body, true),
            None => (line, false),
        };
        let joined = match pending.take() {
            Some(mut start) => {
                start.push(' ');
                start.push_str(body);
                start
            }
            None => body.to_string(),
        };
        if continues {
            pending = Some(joined);
        } else if !joined.trim().is_empty() {
            out.push(joined.trim().to_string());
        }
    }
    if let Some(rest) = pending.filter(|r| !r.trim().is_empty()) {
        out.push(rest.trim().to_string());
    }
    out
}

/// Every assignment of `text` as `(section, key, value)`, in order. O(len).
pub fn assignments(text: &str) -> Vec<(String, String, String)> {
    let mut section = String::new();
    let mut out = Vec::new();
    for line in logical_lines(text) {
        if line.starts_with('[') && line.ends_with(']') {
            section = line[1..line.len() - 1].to_string();
            continue;
        }
        if let Some((key, value)) = line.split_once('=') {
            out.push((section.clone(), key.trim().to_string(), value.trim().to_string()));
        }
    }
    out
}

/// Whether `text` has an `[Install]` section header.
pub fn has_install_section(text: &str) -> bool {
    logical_lines(text).iter().any(|l| l == "[Install]")
}

/// The values of the list setting `key` of `[Install]`, as systemd accumulates them (an empty
/// assignment resets the list).
fn install_list(text: &str, key: &str) -> Vec<String> {
    let mut list = Vec::new();
    for (section, k, value) in assignments(text) {
        if section == "Install" && k == key {
            if value.is_empty() {
                list.clear();
            }
            list.extend(value.split_whitespace().map(str::to_string));
        }
    }
    list
}

/// Whether `systemctl enable` has something to do for a unit with this text: its `[Install]`
/// section names a target (`WantedBy=`, `RequiredBy=`, `UpheldBy=`), an alias or another unit
/// to enable (`Alias=`, `Also=`).
pub fn installs(text: &str) -> bool {
    ["WantedBy", "RequiredBy", "UpheldBy", "Also", "Alias"].iter().any(|key| !install_list(text, key).is_empty())
}

/// The directories `systemctl enable` links the unit from: `TARGET.wants` for each `WantedBy=`,
/// then `TARGET.requires` for each `RequiredBy=`.
pub fn install_dirs(text: &str) -> Vec<String> {
    let wants = install_list(text, "WantedBy").into_iter().map(|t| format!("{t}.wants"));
    wants.chain(install_list(text, "RequiredBy").into_iter().map(|t| format!("{t}.requires"))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_continuation_swallows_the_section_that_follows() {
        let swallowed = "[Service]\nExecStart=/bin/true \\\n[Install]\nWantedBy=multi-user.target\n";
        assert!(!installs(swallowed), "[Install] is part of ExecStart's value");
        assert!(!has_install_section(swallowed));
        assert_eq!(
            assignments(swallowed),
            [
                ("Service".to_string(), "ExecStart".to_string(), "/bin/true  [Install]".to_string()),
                ("Service".to_string(), "WantedBy".to_string(), "multi-user.target".to_string())
            ]
        );
        let plain = "[Service]\nExecStart=/bin/true\n[Install]\nWantedBy = multi-user.target\n";
        assert!(installs(plain) && has_install_section(plain));
        assert_eq!(install_dirs(plain), ["multi-user.target.wants"]);
    }

    #[test]
    fn comments_and_resets_are_read_as_systemd_reads_them() {
        let text = "[Install]\n# WantedBy=a.target\nWantedBy=b.target \\\n# a comment inside\n c.target\nRequiredBy=x.target\nRequiredBy=\n";
        assert_eq!(install_dirs(text), ["b.target.wants", "c.target.wants"]);
        assert!(!installs("[Install]\nWantedBy=\n"));
        assert!(installs("[Install]\nAlias=other.service\n"));
    }
}
