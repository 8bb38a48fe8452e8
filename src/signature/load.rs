//! Loading and validation: TOML text → checked signatures → indexes of a [`SignatureSet`].
//!
//! Every error names the file and the line and column of the offending key or value: toml's
//! own syntax/schema errors carry a byte span, and values that are checked later keep theirs
//! through `toml::Spanned`.

use super::cidr::IpPrefix;
use super::domain::{MAX_NAME_LEN, Pattern};
use super::raw::{
    RawApp, RawCidrList, RawNetworkFile, RawPorts, RawTelemetryEntry, RawTelemetryFile,
};
use super::{
    AppSignature, Category, CidrList, DomainTarget, E2eeMode, Encryption, EncryptionMode, IpTarget,
    KeyHolder, NetworkOwner, PortHints, PortRange, Role, RolePattern, SignatureSet, StunSignature,
    TelemetryEntry, lists,
};
use serde::Serialize;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// Largest user signature file read (a full EasyPrivacy copy is ~1.5 MB; Ghostery ~3.2 MB).
pub const MAX_USER_FILE_BYTES: u64 = 64 * 1024 * 1024;
/// Most files read from one user directory (not recursive).
pub const MAX_USER_FILES: usize = 1_000;

/// A signature file problem: `file:line:column: message`. Line and column are 1-based; both
/// are 0 when the problem concerns the whole file (e.g. it cannot be read).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct SignatureError {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for SignatureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file.display(), self.message)
        } else {
            write!(
                f,
                "{}:{}:{}: {}",
                self.file.display(),
                self.line,
                self.column,
                self.message
            )
        }
    }
}

/// What [`SignatureSet::load_dir`] read.
#[derive(Clone, Debug, Default, Serialize)]
pub struct LoadReport {
    pub files: Vec<FileReport>,
    pub apps: usize,
    pub telemetry_entries: usize,
    pub network_owners: usize,
    /// Entries taken from third-party lists.
    pub list_entries: usize,
    /// List rules that were not plain host rules (paths, cosmetic filters, exceptions…).
    pub ignored_rules: usize,
    /// List hosts already known (built-in or earlier file); the first one is kept.
    pub duplicates: usize,
}

#[derive(Clone, Debug, Serialize)]
pub struct FileReport {
    pub path: PathBuf,
    /// `app`, `telemetry`, `network`, or a list format (`abp`, `hosts`, `disconnect`,
    /// `ddg-tds`, `ghostery`).
    pub format: String,
    pub accepted: usize,
    pub ignored: usize,
    pub duplicates: usize,
}

/// Where a file's text came from, for error positions.
pub(super) struct Source<'a> {
    pub path: &'a Path,
    pub text: &'a str,
}

impl Source<'_> {
    pub fn error_at(&self, span: Range<usize>, message: impl Into<String>) -> SignatureError {
        let (line, column) = line_column(self.text, span.start);
        SignatureError {
            file: self.path.to_path_buf(),
            line,
            column,
            message: message.into(),
        }
    }

    pub fn error_file(&self, message: impl Into<String>) -> SignatureError {
        SignatureError {
            file: self.path.to_path_buf(),
            line: 0,
            column: 0,
            message: message.into(),
        }
    }

    fn toml_error(&self, e: &toml::de::Error) -> SignatureError {
        let message = e.message().trim().to_string();
        match e.span() {
            Some(span) => self.error_at(span, message),
            None => SignatureError {
                file: self.path.to_path_buf(),
                line: 1,
                column: 1,
                message,
            },
        }
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub(super) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = text.get(..offset).unwrap_or_default();
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
    (line, column)
}

/// Which kind of TOML signature file this is, from its top-level keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TomlKind {
    App,
    Telemetry,
    Network,
}

fn detect_toml_kind(src: &Source<'_>) -> Result<TomlKind, SignatureError> {
    let table: toml::Table = toml::from_str(src.text).map_err(|e| src.toml_error(&e))?;
    if table.contains_key("network") {
        Ok(TomlKind::Network)
    } else if table.contains_key("entry") {
        Ok(TomlKind::Telemetry)
    } else if table.contains_key("id") || table.contains_key("encryption") {
        Ok(TomlKind::App)
    } else {
        Err(SignatureError {
            file: src.path.to_path_buf(),
            line: 1,
            column: 1,
            message: "not a signature file: expected an app (`id`, `[encryption]`), telemetry \
                      entries (`[[entry]]`) or a network owner (`[network]`)"
                .into(),
        })
    }
}

fn parse<T: serde::de::DeserializeOwned>(src: &Source<'_>) -> Result<T, SignatureError> {
    toml::from_str(src.text).map_err(|e| src.toml_error(&e))
}

fn enum_value<T>(
    src: &Source<'_>,
    v: &Spanned<String>,
    what: &str,
    names: &[&str],
    parse: impl Fn(&str) -> Option<T>,
) -> Result<T, SignatureError> {
    parse(v.get_ref()).ok_or_else(|| {
        src.error_at(
            v.span(),
            format!(
                "unknown {what} `{}`; expected one of: {}",
                v.get_ref(),
                names.join(", ")
            ),
        )
    })
}

fn country(src: &Source<'_>, v: &Spanned<String>) -> Result<String, SignatureError> {
    let c = v.get_ref();
    if c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(c.clone())
    } else {
        Err(src.error_at(
            v.span(),
            format!("country `{c}` must be an ISO 3166-1 alpha-2 code such as `US`"),
        ))
    }
}

fn id_value(src: &Source<'_>, v: &Spanned<String>) -> Result<String, SignatureError> {
    let id = v.get_ref();
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if ok {
        Ok(id.clone())
    } else {
        Err(src.error_at(
            v.span(),
            format!("id `{id}` must be 1–64 characters of a-z, 0-9, `_` or `-`"),
        ))
    }
}

fn pattern(src: &Source<'_>, v: &Spanned<String>) -> Result<Pattern, SignatureError> {
    Pattern::parse(v.get_ref()).map_err(|m| src.error_at(v.span(), m))
}

fn cidr_lists(src: &Source<'_>, lists: &[RawCidrList]) -> Result<Vec<CidrList>, SignatureError> {
    lists
        .iter()
        .map(|l| {
            let date = l.date.get_ref();
            let ok = date.len() >= 4
                && date.len() <= 10
                && date.bytes().all(|b| b.is_ascii_digit() || b == b'-');
            if !ok {
                return Err(src.error_at(
                    l.date.span(),
                    format!("date `{date}` must look like YYYY, YYYY-MM or YYYY-MM-DD"),
                ));
            }
            let prefixes = l
                .prefixes
                .iter()
                .map(|p| {
                    p.get_ref().parse::<IpPrefix>().map_err(|e| {
                        src.error_at(p.span(), format!("bad CIDR `{}`: {e}", p.get_ref()))
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(CidrList {
                source: l.source.clone(),
                date: date.clone(),
                shared: l.shared,
                prefixes,
            })
        })
        .collect()
}

fn port_ranges(
    src: &Source<'_>,
    ranges: &[Spanned<String>],
) -> Result<Vec<PortRange>, SignatureError> {
    ranges
        .iter()
        .map(|r| {
            let text = r.get_ref().trim();
            let (a, b) = text.split_once('-').unwrap_or((text, text));
            let parse = |s: &str| s.trim().parse::<u16>().ok();
            match (parse(a), parse(b)) {
                (Some(first), Some(last)) if first <= last => Ok(PortRange { first, last }),
                (Some(first), Some(last)) => Err(src.error_at(
                    r.span(),
                    format!("port range `{text}` is reversed: {first} > {last}"),
                )),
                _ => Err(src.error_at(
                    r.span(),
                    format!("`{text}` is not a port or a range like `8801-8810`"),
                )),
            }
        })
        .collect()
}

fn ports(src: &Source<'_>, p: &RawPorts) -> Result<PortHints, SignatureError> {
    Ok(PortHints {
        udp: port_ranges(src, &p.udp)?,
        tcp: port_ranges(src, &p.tcp)?,
    })
}

/// An app checked on its own; spans kept for the checks that need the whole set.
pub(super) struct CheckedApp {
    app: AppSignature,
    id_span: Range<usize>,
    /// (pattern, role, span) for every name the app claims.
    names: Vec<(Pattern, Option<Role>, Range<usize>)>,
    cert_names: Vec<(String, Range<usize>)>,
}

fn check_app(src: &Source<'_>) -> Result<CheckedApp, SignatureError> {
    let raw: RawApp = parse(src)?;
    let id = id_value(src, &raw.id)?;
    let e = &raw.encryption;
    let encryption = Encryption {
        mode: enum_value(
            src,
            &e.mode,
            "encryption mode",
            &["transport", "e2ee", "none"],
            |s| match s {
                "transport" => Some(EncryptionMode::Transport),
                "e2ee" => Some(EncryptionMode::E2ee),
                "none" => Some(EncryptionMode::None),
                _ => None,
            },
        )?,
        key_holder: enum_value(
            src,
            &e.key_holder,
            "key holder",
            &["vendor", "endpoints", "server"],
            |s| match s {
                "vendor" => Some(KeyHolder::Vendor),
                "endpoints" => Some(KeyHolder::Endpoints),
                "server" => Some(KeyHolder::Server),
                _ => None,
            },
        )?,
        e2ee_mode: enum_value(
            src,
            &e.e2ee_mode,
            "e2ee mode",
            &["none", "optional", "default", "always"],
            |s| match s {
                "none" => Some(E2eeMode::None),
                "optional" => Some(E2eeMode::Optional),
                "default" => Some(E2eeMode::Default),
                "always" => Some(E2eeMode::Always),
                _ => None,
            },
        )?,
        summary: e.summary.trim().to_string(),
        sources: e.sources.clone(),
    };
    if encryption.sources.is_empty() {
        return Err(src.error_at(
            e.mode.span(),
            "[encryption] needs at least one entry in `sources`",
        ));
    }
    let m = &raw.matching;
    let mut names = Vec::new();
    for d in &m.domains {
        names.push((pattern(src, d)?, None, d.span()));
    }
    let mut roles = Vec::new();
    for r in &raw.roles {
        let role = enum_value(src, &r.role, "role", Role::NAMES, Role::parse)?;
        let p = pattern(src, &r.pattern)?;
        roles.push(RolePattern {
            pattern: r.pattern.get_ref().to_ascii_lowercase(),
            role,
            note: r.note.clone(),
        });
        names.push((p, Some(role), r.pattern.span()));
    }
    for t in &raw.telemetry_domains {
        names.push((pattern(src, t)?, Some(Role::Telemetry), t.span()));
    }
    let mut cert_names = Vec::new();
    for c in &m.cert_names {
        let n = c.get_ref().trim().to_ascii_lowercase();
        let n = n.strip_suffix('.').unwrap_or(&n).to_string();
        if n.is_empty() || n.len() > MAX_NAME_LEN {
            return Err(src.error_at(c.span(), "certificate name must be 1–253 characters"));
        }
        cert_names.push((n, c.span()));
    }
    let mut realms = Vec::new();
    for r in &m.stun_realms {
        let p = pattern(src, r)?;
        match p {
            Pattern::Suffix(s) => realms.push(s),
            Pattern::Glob { .. } => {
                return Err(src.error_at(r.span(), "a STUN realm cannot be a glob"));
            }
        }
    }
    let app = AppSignature {
        id,
        name: raw.name.clone(),
        vendor: raw.vendor.clone(),
        vendor_country: country(src, &raw.vendor_country)?,
        sources: raw.sources.clone(),
        encryption,
        domains: m
            .domains
            .iter()
            .map(|d| d.get_ref().to_ascii_lowercase())
            .collect(),
        cert_names: cert_names.iter().map(|(n, _)| n.clone()).collect(),
        cidrs: cidr_lists(src, &m.cidrs)?,
        asns: m.asns.clone(),
        stun: StunSignature {
            attributes: m.stun_attributes.clone(),
            message_types: m.stun_message_types.clone(),
            realms,
            software: m.stun_software.clone(),
        },
        ports: ports(src, &m.ports)?,
        roles,
        telemetry_domains: raw
            .telemetry_domains
            .iter()
            .map(|d| d.get_ref().to_ascii_lowercase())
            .collect(),
        origin: src.path.to_path_buf(),
    };
    Ok(CheckedApp {
        app,
        id_span: raw.id.span(),
        names,
        cert_names,
    })
}

fn check_telemetry_entry(
    src: &Source<'_>,
    e: &RawTelemetryEntry,
) -> Result<(TelemetryEntry, Pattern), SignatureError> {
    let p = pattern(src, &e.host)?;
    let entry = TelemetryEntry {
        host: e.host.get_ref().to_ascii_lowercase(),
        company: e.company.clone(),
        country: country(src, &e.country)?,
        category: enum_value(
            src,
            &e.category,
            "category",
            Category::NAMES,
            Category::parse,
        )?,
        first_party_for: e
            .first_party_for
            .iter()
            .map(|a| a.get_ref().clone())
            .collect(),
        source: e.source.clone(),
    };
    Ok((entry, p))
}

/// A telemetry entry with its host pattern, the host's span and the `first_party_for` spans.
pub(super) type CheckedEntry = (TelemetryEntry, Pattern, Range<usize>, Vec<Range<usize>>);
/// A network owner with its id span and domain patterns (with spans).
pub(super) type CheckedNetwork = (NetworkOwner, Range<usize>, Vec<(Pattern, Range<usize>)>);

/// A validated file, ready to be added to a set.
pub(super) enum Checked {
    App(Box<CheckedApp>),
    Telemetry(Vec<CheckedEntry>),
    Network(Box<CheckedNetwork>),
}

pub(super) fn check_toml(src: &Source<'_>) -> Result<Checked, SignatureError> {
    match detect_toml_kind(src)? {
        TomlKind::App => Ok(Checked::App(Box::new(check_app(src)?))),
        TomlKind::Telemetry => {
            let raw: RawTelemetryFile = parse(src)?;
            let mut out = Vec::with_capacity(raw.entry.len());
            for e in &raw.entry {
                let (entry, p) = check_telemetry_entry(src, e)?;
                let fp_spans = e.first_party_for.iter().map(|a| a.span()).collect();
                out.push((entry, p, e.host.span(), fp_spans));
            }
            Ok(Checked::Telemetry(out))
        }
        TomlKind::Network => {
            let raw: RawNetworkFile = parse(src)?;
            let n = &raw.network;
            let mut names = Vec::new();
            for d in &n.domains {
                names.push((pattern(src, d)?, d.span()));
            }
            let owner = NetworkOwner {
                id: id_value(src, &n.id)?,
                company: n.company.clone(),
                country: country(src, &n.country)?,
                asns: n.asns.clone(),
                domains: n
                    .domains
                    .iter()
                    .map(|d| d.get_ref().to_ascii_lowercase())
                    .collect(),
                cert_subject_orgs: n.cert_subject_orgs.clone(),
                cert_issuers: n.cert_issuers.clone(),
                cert_names: n.cert_names.iter().map(|c| c.get_ref().clone()).collect(),
                cidrs: cidr_lists(src, &n.cidrs)?,
                notes: n.notes.clone(),
                sources: n.sources.clone(),
            };
            Ok(Checked::Network(Box::new((owner, n.id.span(), names))))
        }
    }
}

fn target_app(t: DomainTarget) -> Option<u32> {
    match t {
        DomainTarget::App { app, .. } => Some(app),
        _ => None,
    }
}

impl SignatureSet {
    fn add_pattern(&mut self, p: &Pattern) -> u32 {
        let text = match p {
            Pattern::Suffix(s) => s.clone(),
            Pattern::Glob { glob, suffix } => format!("{glob}.{suffix}"),
        };
        self.patterns.push(text);
        (self.patterns.len() - 1) as u32
    }

    pub(super) fn add_checked(
        &mut self,
        src: &Source<'_>,
        checked: Checked,
        report: &mut LoadReport,
        fr: &mut FileReport,
    ) -> Result<(), SignatureError> {
        match checked {
            Checked::App(app) => {
                self.add_app(src, *app)?;
                report.apps += 1;
                fr.accepted += 1;
            }
            Checked::Telemetry(entries) => {
                for (entry, p, span, fp_spans) in entries {
                    for (a, s) in entry.first_party_for.iter().zip(fp_spans) {
                        if !self.app_ids.contains_key(a) {
                            return Err(
                                src.error_at(s, format!("unknown app id `{a}` in first_party_for"))
                            );
                        }
                    }
                    if self
                        .domains
                        .exact_targets(&p)
                        .any(|t| matches!(t, DomainTarget::Telemetry { .. }))
                    {
                        return Err(src.error_at(
                            span,
                            format!("telemetry host `{}` is listed twice", entry.host),
                        ));
                    }
                    self.add_telemetry(entry, &p);
                    report.telemetry_entries += 1;
                    fr.accepted += 1;
                }
            }
            Checked::Network(n) => {
                let (owner, id_span, names) = *n;
                if self.owners.iter().any(|o| o.id == owner.id) {
                    return Err(
                        src.error_at(id_span, format!("duplicate network id `{}`", owner.id))
                    );
                }
                let idx = self.owners.len() as u32;
                for (p, _) in &names {
                    let pattern = self.add_pattern(p);
                    self.domains.insert(
                        p,
                        DomainTarget::Owner {
                            owner: idx,
                            pattern,
                        },
                    );
                }
                for (li, list) in owner.cidrs.iter().enumerate() {
                    for prefix in &list.prefixes {
                        match self.ips.get_exact_mut(*prefix) {
                            Some(t) if t.owner.is_none() => t.owner = Some((idx, li as u32)),
                            Some(_) => {}
                            None => self.ips.insert(
                                *prefix,
                                IpTarget {
                                    app: None,
                                    owner: Some((idx, li as u32)),
                                },
                            ),
                        }
                    }
                }
                self.owners.push(owner);
                report.network_owners += 1;
                fr.accepted += 1;
            }
        }
        Ok(())
    }

    fn add_app(&mut self, src: &Source<'_>, c: CheckedApp) -> Result<(), SignatureError> {
        let CheckedApp {
            app,
            id_span,
            names,
            cert_names,
        } = c;
        if let Some(&other) = self.app_ids.get(&app.id) {
            let where_ = self
                .apps
                .get(other as usize)
                .map(|a| a.origin.display().to_string())
                .unwrap_or_default();
            return Err(src.error_at(
                id_span,
                format!(
                    "duplicate app id `{}` (already defined in {where_})",
                    app.id
                ),
            ));
        }
        let idx = self.apps.len() as u32;
        // Conflicts first, so a failing app leaves nothing behind.
        for (p, _, span) in &names {
            if let Some(other) = self.domains.exact_targets(p).find_map(target_app) {
                let other = self.apps.get(other as usize).map_or("?", |a| a.id.as_str());
                return Err(src.error_at(
                    span.clone(),
                    format!("domain pattern already claimed by app `{other}`"),
                ));
            }
        }
        for (n, span) in &cert_names {
            if let Some(&other) = self.cert_names.get(n) {
                let other = self.apps.get(other as usize).map_or("?", |a| a.id.as_str());
                return Err(src.error_at(
                    span.clone(),
                    format!("certificate name already claimed by app `{other}`"),
                ));
            }
        }
        for list in &app.cidrs {
            for prefix in &list.prefixes {
                let taken = self
                    .ips
                    .get_exact(*prefix)
                    .and_then(|t| t.app)
                    .map(|(a, _, _)| a)
                    .filter(|&a| a != idx);
                if let Some(other) = taken {
                    let other = self.apps.get(other as usize).map_or("?", |a| a.id.as_str());
                    return Err(src.error_file(format!(
                        "prefix {prefix} is already listed for app `{other}`"
                    )));
                }
            }
        }
        // Within one app, a later claim of the same pattern (e.g. a role for a listed domain)
        // replaces the earlier one, so keep only the last claim per pattern.
        let mut seen: Vec<&Pattern> = Vec::new();
        for (i, (p, role, _)) in names.iter().enumerate().rev() {
            if seen.contains(&p) {
                continue;
            }
            seen.push(p);
            let _ = i;
            let pattern = self.add_pattern(p);
            self.domains.insert(
                p,
                DomainTarget::App {
                    app: idx,
                    role: *role,
                    pattern,
                },
            );
        }
        for (n, _) in cert_names {
            self.cert_names.insert(n, idx);
        }
        for (li, list) in app.cidrs.iter().enumerate() {
            for (pi, prefix) in list.prefixes.iter().enumerate() {
                let t = (idx, li as u32, pi as u32);
                match self.ips.get_exact_mut(*prefix) {
                    Some(existing) => {
                        if existing.app.is_none() {
                            existing.app = Some(t);
                        }
                    }
                    None => self.ips.insert(
                        *prefix,
                        IpTarget {
                            app: Some(t),
                            owner: None,
                        },
                    ),
                }
            }
        }
        self.app_ids.insert(app.id.clone(), idx);
        self.apps.push(app);
        Ok(())
    }

    pub(super) fn add_telemetry(&mut self, entry: TelemetryEntry, p: &Pattern) {
        let idx = self.telemetry.len() as u32;
        let pattern = self.add_pattern(p);
        self.domains.insert(
            p,
            DomainTarget::Telemetry {
                entry: idx,
                pattern,
            },
        );
        self.telemetry.push(entry);
    }

    /// True if a telemetry entry exists for exactly this pattern.
    pub(super) fn has_telemetry_pattern(&self, p: &Pattern) -> bool {
        self.domains
            .exact_targets(p)
            .any(|t| matches!(t, DomainTarget::Telemetry { .. }))
    }

    pub(super) fn load_builtin_files(
        &mut self,
        files: &[(&str, &[u8])],
    ) -> Result<LoadReport, SignatureError> {
        let mut report = LoadReport::default();
        // Apps first, so telemetry `first_party_for` can refer to them.
        let mut ordered: Vec<&(&str, &[u8])> =
            files.iter().filter(|(p, _)| p.ends_with(".toml")).collect();
        ordered.sort_by_key(|(p, _)| (!p.starts_with("apps/"), *p));
        for (rel, bytes) in ordered {
            let path = Path::new("signatures").join(rel);
            let text = std::str::from_utf8(bytes).map_err(|e| SignatureError {
                file: path.clone(),
                line: 0,
                column: 0,
                message: format!("not UTF-8: {e}"),
            })?;
            let src = Source { path: &path, text };
            let checked = check_toml(&src)?;
            let mut fr = file_report(&path, &checked);
            self.add_checked(&src, checked, &mut report, &mut fr)?;
            report.files.push(fr);
        }
        Ok(report)
    }

    /// Adds the user's signature files and lists from `dir` (not recursive). Files are read
    /// in name order: `*.toml` signature files (apps first), then every other file as a
    /// third-party list whose format is detected from its content. On any error nothing is
    /// added and the set stays as it was.
    pub fn load_dir(&mut self, dir: &Path) -> Result<LoadReport, SignatureError> {
        let io_err = |path: &Path, e: std::io::Error| SignatureError {
            file: path.to_path_buf(),
            line: 0,
            column: 0,
            message: e.to_string(),
        };
        let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| io_err(dir, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .filter(|p| {
                !p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with('.'))
            })
            .collect();
        if paths.len() > MAX_USER_FILES {
            return Err(SignatureError {
                file: dir.to_path_buf(),
                line: 0,
                column: 0,
                message: format!("more than {MAX_USER_FILES} files"),
            });
        }
        paths.sort();
        let mut texts = Vec::with_capacity(paths.len());
        for p in paths {
            let size = std::fs::metadata(&p).map_err(|e| io_err(&p, e))?.len();
            if size > MAX_USER_FILE_BYTES {
                return Err(SignatureError {
                    file: p,
                    line: 0,
                    column: 0,
                    message: format!("larger than {MAX_USER_FILE_BYTES} bytes"),
                });
            }
            let bytes = std::fs::read(&p).map_err(|e| io_err(&p, e))?;
            let text = String::from_utf8(bytes).map_err(|e| SignatureError {
                file: p.clone(),
                line: 0,
                column: 0,
                message: format!("not UTF-8: {e}"),
            })?;
            texts.push((p, text));
        }
        let is_toml = |p: &Path| p.extension().is_some_and(|e| e == "toml");
        let mut next = self.clone();
        let mut report = LoadReport::default();
        let mut checked_toml = Vec::new();
        for (p, text) in texts.iter().filter(|(p, _)| is_toml(p)) {
            let src = Source { path: p, text };
            checked_toml.push((p, text, check_toml(&src)?));
        }
        checked_toml.sort_by_key(|(_, _, c)| !matches!(c, Checked::App(_)));
        for (p, text, checked) in checked_toml {
            let src = Source { path: p, text };
            let mut fr = file_report(p, &checked);
            next.add_checked(&src, checked, &mut report, &mut fr)?;
            report.files.push(fr);
        }
        for (p, text) in texts.iter().filter(|(p, _)| !is_toml(p)) {
            let src = Source { path: p, text };
            let list = lists::parse_list(&src)?;
            let mut fr = FileReport {
                path: p.clone(),
                format: list.format.name().to_string(),
                accepted: 0,
                ignored: list.ignored,
                duplicates: 0,
            };
            for entry in list.entries {
                let Ok(pat) = Pattern::parse(&entry.host) else {
                    fr.ignored += 1;
                    continue;
                };
                if next.has_telemetry_pattern(&pat) {
                    fr.duplicates += 1;
                    continue;
                }
                next.add_telemetry(entry, &pat);
                fr.accepted += 1;
            }
            report.list_entries += fr.accepted;
            report.ignored_rules += fr.ignored;
            report.duplicates += fr.duplicates;
            report.files.push(fr);
        }
        *self = next;
        Ok(report)
    }
}

fn file_report(path: &Path, c: &Checked) -> FileReport {
    FileReport {
        path: path.to_path_buf(),
        format: match c {
            Checked::App(_) => "app",
            Checked::Telemetry(_) => "telemetry",
            Checked::Network(_) => "network",
        }
        .to_string(),
        accepted: 0,
        ignored: 0,
        duplicates: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_column_counts_chars() {
        let t = "a = 1\nbé = 2\n";
        assert_eq!(line_column(t, 0), (1, 1));
        assert_eq!(line_column(t, 6), (2, 1));
        assert_eq!(line_column(t, 9), (2, 3), "é is one column");
        assert_eq!(line_column(t, 999), (3, 1));
    }
}
