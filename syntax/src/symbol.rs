//! The language's words, in one place: every key the parser accepts, every keyword value, the
//! candidates of its "did you mean" suggestions, the words the printer must quote when they are
//! used as names, and the fuzzer's dictionary all come from these lists.

/// The top-level keys.
pub const TOP_KEYS: &[&str] = &[
    "name",
    "os",
    "production",
    "etcd",
    "channel",
    "ssh_keys",
    "network",
    "bootstrap",
    "boot_server",
    "tls",
    "central",
    "machines",
    "etcd_node",
    "workers",
    "pool",
    "unit",
    "host",
    "kubernetes",
    "allow",
];
/// The keys of a group's `{ … }` options.
pub const GROUP_KEYS: &[&str] = &[
    "addresses",
    "hostnames",
    "channel",
    "metadata",
    "role",
    "reboot",
    "window",
    "ssh_keys",
    "boot",
    "inventory",
    "macs",
    "install_disk",
    "host",
    "host_in",
];
/// The items of a `host: { … }` block.
pub const HOST_ITEMS: &[&str] = &["file", "unit", "dropin"];
/// The keys of a host `file "…" { … }`.
pub const HOST_FILE_KEYS: &[&str] = &["contents", "mode", "owner", "group"];
/// The keys of a host `unit "…" { … }`.
pub const HOST_UNIT_KEYS: &[&str] = &["body", "enable", "mask", "command"];
/// The keys of a `dropin "…" "…" { … }`.
pub const DROPIN_KEYS: &[&str] = &["body"];
/// The keys of a unit's `{ … }` options.
pub const UNIT_KEYS: &[&str] = &[
    "global",
    "metadata",
    "conflicts",
    "machine_of",
    "machine_id",
    "replaces",
    "instances",
    "body",
    "image",
    "command",
    "ports",
    "env",
];
/// The keys of `kubernetes: { … }`.
pub const KUBERNETES_KEYS: &[&str] = &["version", "services", "pods", "cni", "eviction_after"];
/// The pod networks `cni:` names.
pub const CNIS: &[&str] = &["flannel", "cilium"];
/// The keys of the `network: { … }` block.
pub const NETWORK_KEYS: &[&str] = &["subnet", "gateway", "dns", "interface", "zones", "cabinets"];
/// The keys of one failure domain's network.
pub const DOMAIN_NETWORK_KEYS: &[&str] = &["subnet", "gateway"];
/// The keys of `tls: { … }`.
pub const TLS_KEYS: &[&str] = &["ca", "cert", "key"];
/// Every key list.
pub const KEYS: &[&[&str]] = &[
    TOP_KEYS,
    GROUP_KEYS,
    UNIT_KEYS,
    NETWORK_KEYS,
    DOMAIN_NETWORK_KEYS,
    TLS_KEYS,
    HOST_ITEMS,
    HOST_FILE_KEYS,
    HOST_UNIT_KEYS,
    DROPIN_KEYS,
    KUBERNETES_KEYS,
];
/// The commands a host unit may be given at boot.
pub const UNIT_COMMANDS: &[&str] = &["start", "restart", "stop"];

/// The failure domain kinds after `across`.
pub const DOMAIN_KINDS: &[&str] = &["cabinets", "zones"];
/// The update channels.
pub const CHANNELS: &[&str] = &["stable", "beta", "alpha", "lts"];
/// The operating systems.
pub const OSES: &[&str] = &["coreos", "flatcar"];
/// The reboot strategies.
pub const REBOOT_STRATEGIES: &[&str] = &["etcd_lock", "reboot", "off"];
/// The boot methods.
pub const BOOT_METHODS: &[&str] = &["disk", "pxe"];
/// The bootstrap methods.
pub const BOOTSTRAP_METHODS: &[&str] = &["static", "discovery"];
/// The other words of the grammar: the spread, sizes, addresses, unit bodies, windows, allows.
pub const OTHER_WORDS: &[&str] = &["across", "autoscale", "dhcp", "file", "for", "reason", "true", "false"];
/// Every keyword value list.
pub const VALUES: &[&[&str]] =
    &[DOMAIN_KINDS, OSES, CHANNELS, REBOOT_STRATEGIES, BOOT_METHODS, BOOTSTRAP_METHODS, UNIT_COMMANDS, OTHER_WORDS];

/// Words a name is quoted as (`"true"`, `"for"`) rather than written bare: Rust's keywords, which
/// read back as keywords, and the language's own value words, which read back as keywords where
/// the grammar allows both.
pub const RESERVED: &[&str] = &[
    "as",
    "async",
    "await",
    "break",
    "const",
    "continue",
    "crate",
    "do",
    "dyn",
    "else",
    "enum",
    "extern",
    "false",
    "final",
    "fn",
    "for",
    "if",
    "impl",
    "in",
    "let",
    "loop",
    "macro",
    "match",
    "mod",
    "move",
    "mut",
    "priv",
    "pub",
    "ref",
    "return",
    "self",
    "static",
    "struct",
    "super",
    "trait",
    "true",
    "try",
    "type",
    "unsafe",
    "use",
    "where",
    "while",
    "yield",
    "dhcp",
    "file",
    "autoscale",
    "across",
    "disk",
    "pxe",
    "discovery",
];
