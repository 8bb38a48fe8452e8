//! Third-party tracker lists that users bring (never shipped: their licences are
//! share-alike or non-commercial, TELEMETRY.md §1). The format is detected from content:
//!
//! - EasyPrivacy / AdGuard (Adblock Plus syntax): only `||host^` rules, optionally with
//!   `$third-party`; every other rule is counted as ignored (paths are invisible under TLS);
//! - plain host lists (one name per line) and hosts files (`0.0.0.0 host`);
//! - Disconnect `services.json` (`categories` → company → URL → domains);
//! - DuckDuckGo `android-tds.json` (`trackers` → domain → owner, categories);
//! - Ghostery `trackerdb.json` (`patterns` → domains, `organizations` → name, country).
//!
//! References: <https://help.adblockplus.org/hc/en-us/articles/360062733293> (filter syntax),
//! <https://github.com/disconnectme/disconnect-tracking-protection>,
//! <https://github.com/duckduckgo/tracker-blocklists>, <https://github.com/ghostery/trackerdb>.

use super::load::{SignatureError, Source};
use super::{Category, TelemetryEntry};
use serde_json::Value;

/// Most entries taken from one list (EasyPrivacy has ~46k rules; Ghostery ~5k domains).
pub const MAX_LIST_ENTRIES: usize = 1_000_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListFormat {
    Abp,
    Hosts,
    Disconnect,
    DdgTds,
    Ghostery,
}

impl ListFormat {
    pub fn name(self) -> &'static str {
        match self {
            ListFormat::Abp => "abp",
            ListFormat::Hosts => "hosts",
            ListFormat::Disconnect => "disconnect",
            ListFormat::DdgTds => "ddg-tds",
            ListFormat::Ghostery => "ghostery",
        }
    }
}

/// Entries read from one list.
#[derive(Debug)]
pub struct ParsedList {
    pub format: ListFormat,
    pub entries: Vec<TelemetryEntry>,
    pub ignored: usize,
}

/// Detects the format of `src` and reads its host entries.
pub(super) fn parse_list(src: &Source<'_>) -> Result<ParsedList, SignatureError> {
    let source = format!("user list {}", src.path.display());
    if src.text.trim_start().starts_with('{') {
        let json: Value = serde_json::from_str(src.text).map_err(|e| {
            let (line, column) = (e.line(), e.column());
            SignatureError {
                file: src.path.to_path_buf(),
                line,
                column,
                message: format!("invalid JSON: {e}"),
            }
        })?;
        return parse_json(src, &json, source);
    }
    let abp = src.text.lines().any(|l| {
        let l = l.trim_start();
        l.starts_with("||") || l.starts_with("[Adblock") || l.starts_with("@@")
    });
    Ok(if abp {
        parse_abp(src.text, &source)
    } else {
        parse_hosts(src.text, &source)
    })
}

fn entry(
    host: &str,
    company: &str,
    country: &str,
    category: Category,
    source: &str,
) -> TelemetryEntry {
    let country = country.trim().to_ascii_uppercase();
    let country = if country.len() == 2 && country.bytes().all(|b| b.is_ascii_uppercase()) {
        country
    } else {
        String::new()
    };
    TelemetryEntry {
        host: host.trim().to_ascii_lowercase(),
        company: if company.is_empty() {
            "unknown".into()
        } else {
            company.to_string()
        },
        country,
        category,
        first_party_for: Vec::new(),
        source: source.to_string(),
    }
}

/// Maps a list's category label to ours.
pub fn map_category(label: &str) -> Category {
    let l = label.to_ascii_lowercase();
    let has = |w: &str| l.contains(w);
    if has("attribution") {
        Category::Attribution
    } else if has("crash") || has("error report") {
        Category::Crash
    } else if has("analytic")
        || has("audience")
        || has("measurement")
        || has("session replay")
        || has("fingerprint")
    {
        Category::Analytics
    } else if has("advert")
        || has("ad motivated")
        || has("action pixel")
        || has("ad fraud")
        || has("pornvertising")
    {
        Category::Ads
    } else {
        Category::Other
    }
}

fn parse_abp(text: &str, source: &str) -> ParsedList {
    let mut entries = Vec::new();
    let mut ignored = 0;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('!') || line.starts_with('[') {
            continue;
        }
        match abp_host(line) {
            Some(host) if entries.len() < MAX_LIST_ENTRIES => {
                entries.push(entry(host, "", "", Category::Other, source));
            }
            _ => ignored += 1,
        }
    }
    ParsedList {
        format: ListFormat::Abp,
        entries,
        ignored,
    }
}

/// `||host^` or `||host^$third-party` → host; anything else (paths, wildcards, other
/// options, exceptions, cosmetic filters) → `None`.
fn abp_host(rule: &str) -> Option<&str> {
    let rest = rule.strip_prefix("||")?;
    let (host, after) = rest.split_once('^')?;
    let options_ok = match after {
        "" | "|" => true,
        opts => opts
            .strip_prefix('$')
            .is_some_and(|o| o.split(',').all(|o| o == "third-party" || o == "3p")),
    };
    let host_ok = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_');
    (options_ok && host_ok).then_some(host)
}

fn parse_hosts(text: &str, source: &str) -> ParsedList {
    const NOT_TRACKERS: &[&str] = &[
        "localhost",
        "localhost.localdomain",
        "local",
        "broadcasthost",
        "ip6-localhost",
        "ip6-loopback",
        "0.0.0.0",
    ];
    let mut entries = Vec::new();
    let mut ignored = 0;
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or_default().trim();
        if line.is_empty() {
            continue;
        }
        let mut tokens = line.split_whitespace().peekable();
        let first = tokens.peek().copied().unwrap_or_default();
        if first.parse::<std::net::IpAddr>().is_ok() {
            tokens.next();
            if tokens.peek().is_none() {
                ignored += 1;
            }
        }
        for host in tokens {
            if NOT_TRACKERS.contains(&host) || host.parse::<std::net::IpAddr>().is_ok() {
                ignored += 1;
            } else if entries.len() < MAX_LIST_ENTRIES {
                entries.push(entry(host, "", "", Category::Other, source));
            } else {
                ignored += 1;
            }
        }
    }
    ParsedList {
        format: ListFormat::Hosts,
        entries,
        ignored,
    }
}

fn parse_json(
    src: &Source<'_>,
    json: &Value,
    source: String,
) -> Result<ParsedList, SignatureError> {
    let has = |k: &str| json.get(k).is_some_and(Value::is_object);
    if has("patterns") && has("organizations") {
        Ok(parse_ghostery(json, &source))
    } else if has("trackers") && has("entities") {
        Ok(parse_ddg(json, &source))
    } else if has("categories")
        && json.get("categories").is_some_and(|c| {
            c.as_object()
                .is_some_and(|o| o.values().all(Value::is_array))
        })
    {
        Ok(parse_disconnect(json, &source))
    } else if has("trackers") {
        Err(src.error_at(0..0, "this looks like an Exodus tracker list; its `network_signature` regexes are not supported"))
    } else {
        Err(src.error_at(0..0, "unrecognized JSON list: expected Disconnect services.json, DuckDuckGo android-tds.json or Ghostery trackerdb.json"))
    }
}

fn parse_disconnect(json: &Value, source: &str) -> ParsedList {
    let mut entries = Vec::new();
    let mut ignored = 0;
    let categories = json.get("categories").and_then(Value::as_object);
    for (cat, items) in categories.into_iter().flatten() {
        let category = map_category(cat);
        for item in items.as_array().into_iter().flatten() {
            for (company, urls) in item.as_object().into_iter().flatten() {
                for domains in urls.as_object().into_iter().flat_map(|o| o.values()) {
                    // Besides URL → [domains], a company object holds flags such as
                    // "performance": "true"; those are not hosts.
                    let Some(domains) = domains.as_array() else {
                        continue;
                    };
                    for d in domains {
                        match d.as_str() {
                            Some(d) if entries.len() < MAX_LIST_ENTRIES => {
                                entries.push(entry(d, company, "", category, source));
                            }
                            _ => ignored += 1,
                        }
                    }
                }
            }
        }
    }
    ParsedList {
        format: ListFormat::Disconnect,
        entries,
        ignored,
    }
}

fn parse_ddg(json: &Value, source: &str) -> ParsedList {
    let mut entries = Vec::new();
    let mut ignored = 0;
    let trackers = json.get("trackers").and_then(Value::as_object);
    for (domain, t) in trackers.into_iter().flatten() {
        let owner = t.get("owner");
        let company = owner
            .and_then(|o| o.get("displayName").or_else(|| o.get("name")))
            .and_then(Value::as_str)
            .unwrap_or_default();
        let category = t
            .get("categories")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(map_category)
            .find(|c| *c != Category::Other)
            .unwrap_or(Category::Other);
        if entries.len() < MAX_LIST_ENTRIES {
            entries.push(entry(domain, company, "", category, source));
        } else {
            ignored += 1;
        }
    }
    ParsedList {
        format: ListFormat::DdgTds,
        entries,
        ignored,
    }
}

fn parse_ghostery(json: &Value, source: &str) -> ParsedList {
    let mut entries = Vec::new();
    let mut ignored = 0;
    let orgs = json.get("organizations");
    let patterns = json.get("patterns").and_then(Value::as_object);
    for p in patterns.into_iter().flat_map(|m| m.values()) {
        let org = p
            .get("organization")
            .and_then(Value::as_str)
            .and_then(|id| orgs?.get(id));
        let company = org
            .and_then(|o| o.get("name"))
            .or_else(|| p.get("name"))
            .and_then(Value::as_str)
            .unwrap_or_default();
        let country = org
            .and_then(|o| o.get("country"))
            .and_then(Value::as_str)
            .unwrap_or_default();
        let category = p
            .get("category")
            .and_then(Value::as_str)
            .map(|c| map_category(&c.replace('_', " ")))
            .unwrap_or(Category::Other);
        for d in p
            .get("domains")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            match d.as_str() {
                Some(d) if entries.len() < MAX_LIST_ENTRIES => {
                    entries.push(entry(d, company, country, category, source));
                }
                _ => ignored += 1,
            }
        }
    }
    ParsedList {
        format: ListFormat::Ghostery,
        entries,
        ignored,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn parse(name: &str, text: &str) -> ParsedList {
        let src = Source {
            path: Path::new(name),
            text,
        };
        parse_list(&src).unwrap_or_else(|e| panic!("{e}"))
    }

    fn hosts(l: &ParsedList) -> Vec<&str> {
        l.entries.iter().map(|e| e.host.as_str()).collect()
    }

    #[test]
    fn abp_keeps_only_host_rules() {
        let text = "[Adblock Plus 2.0]\n! Title: synthetic\n||tracker.example^\n||t2.example^$third-party\n||cdn.example/pixel.gif\n/analytics.js\n@@||ok.example^\nexample.org##.ad\n||t3.example^$script\n";
        let l = parse("easyprivacy.txt", text);
        assert_eq!(l.format, ListFormat::Abp);
        assert_eq!(hosts(&l), ["tracker.example", "t2.example"]);
        assert_eq!(l.ignored, 5);
    }

    #[test]
    fn hosts_and_plain_lists() {
        let text = "# synthetic\n0.0.0.0 a.example\n127.0.0.1 localhost\n127.0.0.1 b.example c.example # two\nplain.example\n\n";
        let l = parse("hosts", text);
        assert_eq!(l.format, ListFormat::Hosts);
        assert_eq!(
            hosts(&l),
            ["a.example", "b.example", "c.example", "plain.example"]
        );
        assert_eq!(l.ignored, 1);
    }

    #[test]
    fn disconnect_services() {
        let text = r#"{"license":"synthetic","categories":{
            "Analytics":[{"Example Metrics":{"https://metrics.example/":["metrics.example","m2.example"],"performance":"true"}}],
            "Advertising":[{"AdCo":{"https://adco.example/":["adco.example"]}}]}}"#;
        let l = parse("services.json", text);
        assert_eq!(l.format, ListFormat::Disconnect);
        assert_eq!(l.entries.len(), 3);
        let m = l.entries.iter().find(|e| e.host == "m2.example");
        assert_eq!(
            m.map(|e| (e.company.as_str(), e.category)),
            Some(("Example Metrics", Category::Analytics))
        );
        let a = l.entries.iter().find(|e| e.host == "adco.example");
        assert_eq!(a.map(|e| e.category), Some(Category::Ads));
    }

    #[test]
    fn ddg_tds() {
        let text = r#"{"trackers":{"sdk.example":{"domain":"sdk.example","owner":{"name":"SDK Inc.","displayName":"SDK"},"default":"block","categories":["Embedded Content","Analytics"]}},
            "entities":{"SDK Inc.":{"domains":["sdk.example"]}},"domains":{"sdk.example":"SDK Inc."}}"#;
        let l = parse("android-tds.json", text);
        assert_eq!(l.format, ListFormat::DdgTds);
        assert_eq!(hosts(&l), ["sdk.example"]);
        assert_eq!(
            l.entries.first().map(|e| (e.company.as_str(), e.category)),
            Some(("SDK", Category::Analytics))
        );
    }

    #[test]
    fn ghostery_trackerdb() {
        let text = r#"{"categories":{"site_analytics":{}},"organizations":{"exco":{"name":"ExCo","country":"de"}},
            "patterns":{"ex":{"name":"Ex Analytics","category":"site_analytics","organization":"exco","domains":["ex-analytics.example"]}}}"#;
        let l = parse("trackerdb.json", text);
        assert_eq!(l.format, ListFormat::Ghostery);
        let e = l.entries.first();
        assert_eq!(
            e.map(|e| (
                e.host.as_str(),
                e.company.as_str(),
                e.country.as_str(),
                e.category
            )),
            Some(("ex-analytics.example", "ExCo", "DE", Category::Analytics))
        );
    }

    #[test]
    fn unknown_json_is_an_error() {
        let src = Source {
            path: Path::new("x.json"),
            text: "{\"a\": 1}",
        };
        assert!(parse_list(&src).is_err());
        let src = Source {
            path: Path::new("x.json"),
            text: "{\"a\": ",
        };
        let e = parse_list(&src).err();
        assert_eq!(e.map(|e| e.line), Some(1));
    }
}
