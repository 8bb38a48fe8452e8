//! Domain-name matching: suffix match on label boundaries, `*.` subdomain patterns and simple
//! `*` globs in the leftmost label, most specific pattern wins.
//!
//! A name is lower-cased and stripped of its trailing dot once, into a stack buffer. Then each
//! label suffix (`a.b.zoom.us`, `b.zoom.us`, `zoom.us`, `us`) costs one hash probe; a suffix's
//! entry also carries the glob patterns anchored on it (`zoom*mmr` on `zoom.us`), checked
//! against the label just left of the suffix. No allocation per lookup.
//!
//! References: RFC 1035 §2.3.4 (name ≤ 255 octets on the wire, so ≤ 253 as text; label ≤ 63),
//! RFC 4343 (names compare case-insensitively).

use rustc_hash::FxHashMap;

/// Longest textual domain name (RFC 1035 §2.3.4: 255 octets on the wire).
pub const MAX_NAME_LEN: usize = 253;
/// Longest label (RFC 1035 §2.3.4).
pub const MAX_LABEL_LEN: usize = 63;

/// A parsed domain pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Pattern {
    /// `zoom.us`: the name itself and every subdomain.
    Suffix(String),
    /// `*.zoom.us` (glob `*`) or `zoom*mmr.zoom.us` (glob `zoom*mmr`): the leftmost label is
    /// matched by the glob, anchored on `suffix`; deeper subdomains match too.
    Glob { glob: String, suffix: String },
}

impl Pattern {
    /// Parses and normalises (lower case, no trailing dot) a pattern from a signature file.
    pub fn parse(s: &str) -> Result<Pattern, String> {
        let lower = s.trim().to_ascii_lowercase();
        let name = lower.strip_suffix('.').unwrap_or(&lower);
        if name.is_empty() {
            return Err("empty domain pattern".into());
        }
        if name.len() > MAX_NAME_LEN {
            return Err(format!(
                "domain pattern longer than {MAX_NAME_LEN} characters"
            ));
        }
        let mut labels = name.split('.');
        let first = labels.next().unwrap_or_default();
        let rest: Vec<&str> = labels.collect();
        for (i, label) in std::iter::once(first)
            .chain(rest.iter().copied())
            .enumerate()
        {
            if label.is_empty() {
                return Err(format!("empty label in domain pattern `{s}`"));
            }
            if label.len() > MAX_LABEL_LEN {
                return Err(format!(
                    "label longer than {MAX_LABEL_LEN} characters in `{s}`"
                ));
            }
            let glob_ok = i == 0;
            if let Some(c) = label.chars().find(|&c| {
                !(c.is_ascii_alphanumeric() || c == '-' || c == '_' || (glob_ok && c == '*'))
            }) {
                return Err(if c == '*' {
                    format!("`*` is allowed only in the leftmost label, in `{s}`")
                } else {
                    format!("character `{c}` is not allowed in domain pattern `{s}`")
                });
            }
        }
        if !first.contains('*') {
            return Ok(Pattern::Suffix(name.to_string()));
        }
        if rest.is_empty() {
            return Err(format!(
                "glob `{s}` needs a fixed suffix, e.g. `*.example.com`"
            ));
        }
        Ok(Pattern::Glob {
            glob: first.to_string(),
            suffix: rest.join("."),
        })
    }
}

/// Matches `label` against `glob`, where `*` stands for any run of characters (possibly
/// empty; but a lone `*` needs a non-empty label, which every real label is).
pub fn glob_match(glob: &[u8], label: &[u8]) -> bool {
    let (mut g, mut l) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while l < label.len() {
        match glob.get(g) {
            Some(b'*') => {
                star = Some((g, l));
                g += 1;
            }
            Some(&c) if c == label.get(l).copied().unwrap_or(0) => {
                g += 1;
                l += 1;
            }
            _ => match star {
                Some((sg, sl)) => {
                    g = sg + 1;
                    l = sl + 1;
                    star = Some((sg, sl + 1));
                }
                None => return false,
            },
        }
    }
    glob.get(g..)
        .is_some_and(|rest| rest.iter().all(|&c| c == b'*'))
}

/// Lower-cases `name` into `buf` and strips one trailing dot; `None` if it cannot be a name.
pub fn normalize<'b>(name: &str, buf: &'b mut [u8; MAX_NAME_LEN + 1]) -> Option<&'b str> {
    let name = name.strip_suffix('.').unwrap_or(name);
    if name.is_empty() || name.len() > MAX_NAME_LEN {
        return None;
    }
    let out = buf.get_mut(..name.len())?;
    out.copy_from_slice(name.as_bytes());
    out.make_ascii_lowercase();
    std::str::from_utf8(out).ok()
}

/// One entry found for a suffix: which target, with its specificity score.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hit<T> {
    pub target: T,
    /// 2 × labels for a suffix pattern, 2 × labels − 1 for a glob pattern (a glob label is
    /// less specific than a literal label at the same depth).
    pub score: u32,
}

/// Per-suffix entry: the targets of the literal pattern and the globs anchored on it.
#[derive(Clone, Debug)]
struct Slot<T> {
    exact: Vec<T>,
    globs: Vec<(Box<[u8]>, T)>,
}

impl<T> Default for Slot<T> {
    fn default() -> Self {
        Slot {
            exact: Vec::new(),
            globs: Vec::new(),
        }
    }
}

/// Suffix → targets index.
#[derive(Clone, Debug)]
pub struct DomainIndex<T> {
    map: FxHashMap<Box<str>, Slot<T>>,
    len: usize,
}

impl<T> Default for DomainIndex<T> {
    fn default() -> Self {
        DomainIndex {
            map: FxHashMap::default(),
            len: 0,
        }
    }
}

impl<T: Copy> DomainIndex<T> {
    pub fn insert(&mut self, pattern: &Pattern, target: T) {
        self.len += 1;
        match pattern {
            Pattern::Suffix(s) => self
                .map
                .entry(s.as_str().into())
                .or_default()
                .exact
                .push(target),
            Pattern::Glob { glob, suffix } => self
                .map
                .entry(suffix.as_str().into())
                .or_default()
                .globs
                .push((glob.as_bytes().into(), target)),
        }
    }

    /// Targets stored under exactly this pattern.
    pub fn exact_targets<'a>(&'a self, pattern: &'a Pattern) -> impl Iterator<Item = T> + 'a {
        let (key, glob) = match pattern {
            Pattern::Suffix(s) => (s.as_str(), None),
            Pattern::Glob { glob, suffix } => (suffix.as_str(), Some(glob.as_bytes())),
        };
        let slot = self.map.get(key);
        let exact = slot
            .filter(|_| glob.is_none())
            .into_iter()
            .flat_map(|s| s.exact.iter().copied());
        let globs = slot
            .into_iter()
            .flat_map(|s| s.globs.iter())
            .filter(move |(g, _)| Some(&g[..]) == glob)
            .map(|(_, t)| *t);
        exact.chain(globs)
    }

    /// Calls `visit` for every pattern that matches the normalised `name`.
    pub fn for_each_match(&self, name: &str, mut visit: impl FnMut(Hit<T>)) {
        let bytes = name.as_bytes();
        let total_labels = bytes.iter().filter(|&&b| b == b'.').count() as u32 + 1;
        let mut start = 0usize;
        let mut prev_start: Option<usize> = None;
        let mut index = 0u32;
        loop {
            let suffix = name.get(start..).unwrap_or_default();
            if let Some(slot) = self.map.get(suffix) {
                let labels = total_labels.saturating_sub(index);
                for &target in &slot.exact {
                    visit(Hit {
                        target,
                        score: 2 * labels,
                    });
                }
                if let Some(p) = prev_start {
                    let label = bytes.get(p..start.saturating_sub(1)).unwrap_or_default();
                    for (glob, target) in &slot.globs {
                        if !label.is_empty() && glob_match(glob, label) {
                            visit(Hit {
                                target: *target,
                                score: 2 * labels + 1,
                            });
                        }
                    }
                }
            }
            let Some(dot) = bytes
                .get(start..)
                .and_then(|b| b.iter().position(|&c| c == b'.'))
            else {
                break;
            };
            prev_start = Some(start);
            start += dot + 1;
            index += 1;
        }
    }

    /// Number of patterns stored.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn pat(s: &str) -> Pattern {
        Pattern::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn best(ix: &DomainIndex<u8>, name: &str) -> Option<u8> {
        let mut buf = [0u8; MAX_NAME_LEN + 1];
        let name = normalize(name, &mut buf)?;
        let mut best: Option<Hit<u8>> = None;
        ix.for_each_match(name, |h| {
            if best.is_none_or(|b| h.score > b.score) {
                best = Some(h);
            }
        });
        best.map(|h| h.target)
    }

    #[test]
    fn parse_patterns() {
        assert_eq!(pat("Zoom.US."), Pattern::Suffix("zoom.us".into()));
        assert_eq!(
            pat("*.zoom.us"),
            Pattern::Glob {
                glob: "*".into(),
                suffix: "zoom.us".into()
            }
        );
        assert_eq!(
            pat("zoom*mmr.zoom.us"),
            Pattern::Glob {
                glob: "zoom*mmr".into(),
                suffix: "zoom.us".into()
            }
        );
        assert!(Pattern::parse("").is_err());
        assert!(Pattern::parse("a..b").is_err());
        assert!(Pattern::parse("a.*.b").is_err());
        assert!(Pattern::parse("*").is_err());
        assert!(Pattern::parse("zo om.us").is_err());
        assert!(Pattern::parse(&"a".repeat(64)).is_err());
    }

    #[test]
    fn globs() {
        assert!(glob_match(b"*", b"x"));
        assert!(glob_match(b"zoom*mmr", b"zoomfrn99mmr"));
        assert!(glob_match(b"zoom*mmr", b"zoommmr"));
        assert!(!glob_match(b"zoom*mmr", b"zoomfrn99zc"));
        assert!(glob_match(b"*zc", b"zoomam104zc"));
        assert!(glob_match(b"a*b*c", b"axxbyyc"));
        assert!(!glob_match(b"a*b*c", b"axxbyy"));
        assert!(glob_match(b"abc", b"abc"));
        assert!(!glob_match(b"abc", b"abcd"));
    }

    #[test]
    fn suffix_on_label_boundaries_and_specificity() {
        let mut ix = DomainIndex::default();
        ix.insert(&pat("zoom.us"), 1);
        ix.insert(&pat("zoom*mmr.zoom.us"), 2);
        ix.insert(&pat("log-gateway.zoom.us"), 3);
        ix.insert(&pat("*.telemetry.zoom.us"), 4);
        assert_eq!(best(&ix, "zoom.us"), Some(1));
        assert_eq!(best(&ix, "ZOOM.US."), Some(1));
        assert_eq!(best(&ix, "x.zoom.us"), Some(1));
        assert_eq!(best(&ix, "notzoom.us"), None);
        assert_eq!(best(&ix, "zoom.us.evil.com"), None);
        assert_eq!(best(&ix, "zoomfrn99mmr.zoom.us"), Some(2));
        assert_eq!(best(&ix, "a.zoomfrn99mmr.zoom.us"), Some(2));
        assert_eq!(best(&ix, "log-gateway.zoom.us"), Some(3));
        assert_eq!(best(&ix, "us.telemetry.zoom.us"), Some(4));
        assert_eq!(
            best(&ix, "telemetry.zoom.us"),
            Some(1),
            "`*.` is subdomains only"
        );
        assert_eq!(best(&ix, ""), None);
        assert_eq!(best(&ix, "."), None);
        assert_eq!(best(&ix, ".zoom.us"), Some(1));
    }

    proptest! {
        #[test]
        fn lookup_never_panics(name in "\\PC{0,300}") {
            let mut ix = DomainIndex::default();
            ix.insert(&pat("zoom.us"), 1u8);
            ix.insert(&pat("a*b.zoom.us"), 2u8);
            let _ = best(&ix, &name);
        }

        #[test]
        fn glob_never_panics(g in "[a*]{0,8}", l in "[ab]{0,12}") {
            let _ = glob_match(g.as_bytes(), l.as_bytes());
        }
    }
}
