//! GeoIP and ASN enrichment: which country and network a public server address is in,
//! and what that means for a GDPR transfer.
//!
//! Two MaxMind DB (MMDB) files answer the lookups. Built in (embedded with
//! `include_bytes!`, so the binary works offline) are ip-location-db's
//! geo-whois-asn-country and an MMDB built from ip-location-db's asn CSV; see
//! `signatures/geo/README.md` for sources, licences and refresh. `--geoip` / `--asn`
//! replace either with GeoLite2-Country/City, DB-IP Country/City Lite, GeoLite2-ASN
//! or DB-IP ASN Lite files.
//!
//! Private, local, multicast and documentation addresses never reach the databases:
//! they get an [`AddressScope`] and no country.
//!
//! References:
//! - MaxMind DB format: <https://maxmind.github.io/MaxMind-DB/>
//! - GeoIP2 record layout (`country.iso_code`, `autonomous_system_number`):
//!   <https://dev.maxmind.com/geoip/docs/databases/>
//! - ip-location-db: <https://github.com/sapics/ip-location-db>

mod country;
mod jurisdiction;
mod scope;

pub use country::{CountryCode, UNKNOWN_COUNTRY, country_name};
pub use jurisdiction::{Jurisdiction, TransferRules};
pub use scope::{AddressScope, embedded_ipv4};

use maxminddb::{PathElement, Reader};
use rustc_hash::FxHashMap;
use serde::{Serialize, Serializer};
use std::borrow::Cow;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

/// ip-location-db geo-whois-asn-country (country only, `{"country_code": "DE"}`).
static BUILTIN_COUNTRY: &[u8] = include_bytes!("../../signatures/geo/geo-whois-asn-country.mmdb");
/// Built by `scripts/update-geo.sh` from ip-location-db's asn CSV, GeoLite2-ASN layout.
static BUILTIN_ASN: &[u8] = include_bytes!("../../signatures/geo/asn.mmdb");

/// Credit line that CC BY 4.0 asks for wherever results from the built-in data are
/// shown (report footer, `--version`); DB-IP also asks web pages to link db-ip.com.
pub const ATTRIBUTION: &str = "Built-in IP data: ip-location-db (github.com/sapics/ip-location-db) \
     from RouteViews, NRO/RIR data (nro.net) and DB-IP (db-ip.com), CC BY 4.0";

/// Distinct ASN records kept decoded. Real ASN databases hold ~150k distinct
/// records; past this the cache starts over rather than grow without bound.
const MAX_ASN_CACHE: usize = 1 << 18;

/// Answers kept per address. A capture talks to a few thousand servers at most, so
/// repeat lookups (one per flow) become a hash hit; past this the cache starts over.
const MAX_IP_CACHE: usize = 1 << 16;

/// What a lookup found out about one address.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct GeoInfo {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<CountryCode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub asn: Option<u32>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "ser_opt_arc_str"
    )]
    pub as_org: Option<Arc<str>>,
    pub scope: AddressScope,
}

fn ser_opt_arc_str<S: Serializer>(v: &Option<Arc<str>>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(org) => s.serialize_str(org),
        None => s.serialize_none(),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum GeoError {
    #[error("cannot read {kind} database {}: {source}", path.display())]
    Read {
        kind: DbKind,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{kind} database {origin} is not a valid MaxMind DB (.mmdb) file: {source}")]
    Invalid {
        kind: DbKind,
        origin: DbOrigin,
        #[source]
        source: maxminddb::MaxMindDbError,
    },
    #[error(
        "{origin} is a '{database_type}' database, not a {kind} database \
         (--geoip takes a country or city database, --asn an ASN database)"
    )]
    WrongKind {
        kind: DbKind,
        origin: DbOrigin,
        database_type: String,
    },
}

/// Which of the two databases an error or description is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DbKind {
    Country,
    Asn,
}

impl std::fmt::Display for DbKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DbKind::Country => "country",
            DbKind::Asn => "ASN",
        })
    }
}

/// Where a database came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DbOrigin {
    Builtin,
    File(PathBuf),
}

impl std::fmt::Display for DbOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DbOrigin::Builtin => f.write_str("(built-in)"),
            DbOrigin::File(p) => write!(f, "{}", p.display()),
        }
    }
}

/// One loaded database, for the report's "data sources" line.
#[derive(Clone, Debug, Serialize)]
pub struct DbSource {
    pub kind: DbKind,
    pub origin: DbOrigin,
    pub database_type: String,
    /// Build time from the file's metadata, seconds since the Unix epoch.
    pub build_epoch: u64,
}

/// How a country database spells the country.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CountrySchema {
    /// MaxMind / DB-IP: `country.iso_code`, falling back to `registered_country.iso_code`.
    GeoIp2,
    /// ip-location-db: a flat `country_code`.
    Flat,
}

const PATH_FLAT: &[PathElement<'static>] = &[PathElement::Key("country_code")];
const PATH_COUNTRY: &[PathElement<'static>] =
    &[PathElement::Key("country"), PathElement::Key("iso_code")];
const PATH_REGISTERED: &[PathElement<'static>] = &[
    PathElement::Key("registered_country"),
    PathElement::Key("iso_code"),
];

type Mmdb = Reader<Cow<'static, [u8]>>;

#[derive(Clone, Debug, Default)]
struct AsnRecord {
    asn: Option<u32>,
    org: Option<Arc<str>>,
}

#[derive(serde::Deserialize)]
struct RawAsn<'a> {
    autonomous_system_number: Option<u32>,
    #[serde(borrow)]
    autonomous_system_organization: Option<&'a str>,
}

/// Country and ASN databases plus a cache of decoded ASN records. `Send + Sync`.
pub struct GeoDb {
    country: Mmdb,
    country_origin: DbOrigin,
    schema: CountrySchema,
    asn: Mmdb,
    asn_origin: DbOrigin,
    /// Keyed by the record's offset in the ASN data section: many networks share one
    /// record, so each organisation string is allocated once.
    asn_cache: RwLock<FxHashMap<usize, AsnRecord>>,
    ip_cache: RwLock<FxHashMap<IpAddr, GeoInfo>>,
}

impl std::fmt::Debug for GeoDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeoDb")
            .field("country", &self.country_origin)
            .field("asn", &self.asn_origin)
            .finish_non_exhaustive()
    }
}

impl GeoDb {
    /// The embedded databases (no I/O).
    pub fn builtin() -> Result<GeoDb, GeoError> {
        GeoDb::open(None, None)
    }

    /// Opens `--geoip` / `--asn` files; `None` uses the embedded database instead.
    pub fn open(country: Option<&Path>, asn: Option<&Path>) -> Result<GeoDb, GeoError> {
        let (country, country_origin) = load(DbKind::Country, country, BUILTIN_COUNTRY)?;
        let (asn, asn_origin) = load(DbKind::Asn, asn, BUILTIN_ASN)?;
        let schema = country_schema(&country.metadata().database_type);
        check_kind(DbKind::Country, &country, &country_origin)?;
        check_kind(DbKind::Asn, &asn, &asn_origin)?;
        Ok(GeoDb {
            country,
            country_origin,
            schema,
            asn,
            asn_origin,
            asn_cache: RwLock::new(FxHashMap::default()),
            ip_cache: RwLock::new(FxHashMap::default()),
        })
    }

    /// Country, ASN and scope of `ip`. IPv4-mapped and NAT64 (64:ff9b::/96) IPv6
    /// addresses are looked up as the IPv4 address they carry. Never fails: a
    /// database error or a miss leaves the field `None`. Answers are cached per address.
    pub fn lookup(&self, ip: IpAddr) -> GeoInfo {
        let ip = match ip {
            IpAddr::V6(v6) => embedded_ipv4(v6).map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        let scope = AddressScope::of(ip);
        if !scope.is_public() {
            return GeoInfo {
                scope,
                ..GeoInfo::default()
            };
        }
        let cache = self.ip_cache.read().unwrap_or_else(|e| e.into_inner());
        if let Some(hit) = cache.get(&ip) {
            return hit.clone();
        }
        drop(cache);
        let rec = self.asn_record(ip);
        let info = GeoInfo {
            country: self.country_of(ip),
            asn: rec.asn,
            as_org: rec.org,
            scope,
        };
        let mut cache = self.ip_cache.write().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= MAX_IP_CACHE {
            cache.clear();
        }
        cache.insert(ip, info.clone());
        info
    }

    /// The two databases in use, for reports.
    pub fn sources(&self) -> [DbSource; 2] {
        let src = |kind, reader: &Mmdb, origin: &DbOrigin| DbSource {
            kind,
            origin: origin.clone(),
            database_type: reader.metadata().database_type.clone(),
            build_epoch: reader.metadata().build_epoch,
        };
        [
            src(DbKind::Country, &self.country, &self.country_origin),
            src(DbKind::Asn, &self.asn, &self.asn_origin),
        ]
    }

    fn country_of(&self, ip: IpAddr) -> Option<CountryCode> {
        let hit = self.country.lookup(ip).ok()?;
        if !hit.has_data() {
            return None;
        }
        let at = |path| {
            hit.decode_path::<&str>(path)
                .ok()
                .flatten()
                .and_then(CountryCode::parse)
        };
        match self.schema {
            CountrySchema::Flat => at(PATH_FLAT).or_else(|| at(PATH_COUNTRY)),
            CountrySchema::GeoIp2 => at(PATH_COUNTRY)
                .or_else(|| at(PATH_REGISTERED))
                .or_else(|| at(PATH_FLAT)),
        }
    }

    fn asn_record(&self, ip: IpAddr) -> AsnRecord {
        let Some(hit) = self.asn.lookup(ip).ok() else {
            return AsnRecord::default();
        };
        let Some(offset) = hit.offset() else {
            return AsnRecord::default();
        };
        let cache = self.asn_cache.read().unwrap_or_else(|e| e.into_inner());
        if let Some(rec) = cache.get(&offset) {
            return rec.clone();
        }
        drop(cache);
        let rec = match hit.decode::<RawAsn<'_>>() {
            Ok(Some(raw)) => AsnRecord {
                asn: raw.autonomous_system_number,
                org: raw
                    .autonomous_system_organization
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(Arc::from),
            },
            _ => AsnRecord::default(),
        };
        let mut cache = self.asn_cache.write().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= MAX_ASN_CACHE {
            cache.clear();
        }
        cache.insert(offset, rec.clone());
        rec
    }
}

fn load(
    kind: DbKind,
    path: Option<&Path>,
    builtin: &'static [u8],
) -> Result<(Mmdb, DbOrigin), GeoError> {
    let (bytes, origin) = match path {
        None => (Cow::Borrowed(builtin), DbOrigin::Builtin),
        Some(p) => {
            let bytes = std::fs::read(p).map_err(|source| GeoError::Read {
                kind,
                path: p.to_path_buf(),
                source,
            })?;
            (Cow::Owned(bytes), DbOrigin::File(p.to_path_buf()))
        }
    };
    match Reader::from_source(bytes) {
        Ok(reader) => Ok((reader, origin)),
        Err(source) => Err(GeoError::Invalid {
            kind,
            origin,
            source,
        }),
    }
}

fn country_schema(database_type: &str) -> CountrySchema {
    let t = database_type.to_ascii_lowercase();
    if t.starts_with("geoip2") || t.starts_with("geolite2") || t.starts_with("dbip") {
        CountrySchema::GeoIp2
    } else {
        CountrySchema::Flat
    }
}

/// Catches swapped flags (an ASN file given to `--geoip` and vice versa) by the
/// metadata's `database_type`, e.g. `GeoLite2-ASN`, `DBIP-Country-Lite`,
/// `country ipvAll`. Unrecognised types are accepted.
fn check_kind(kind: DbKind, reader: &Mmdb, origin: &DbOrigin) -> Result<(), GeoError> {
    let t = reader.metadata().database_type.to_ascii_lowercase();
    let has_asn = t.contains("asn") || t.contains("isp");
    let has_geo = t.contains("country") || t.contains("city");
    let wrong = match kind {
        DbKind::Country => has_asn && !has_geo,
        DbKind::Asn => has_geo && !has_asn,
    };
    if wrong {
        return Err(GeoError::WrongKind {
            kind,
            origin: origin.clone(),
            database_type: reader.metadata().database_type.clone(),
        });
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::net::{Ipv4Addr, Ipv6Addr};
    use std::sync::OnceLock;

    fn db() -> &'static GeoDb {
        static DB: OnceLock<GeoDb> = OnceLock::new();
        DB.get_or_init(|| GeoDb::builtin().expect("embedded databases open"))
    }

    fn look(s: &str) -> GeoInfo {
        db().lookup(s.parse().unwrap())
    }

    fn cc(s: &str) -> Option<CountryCode> {
        CountryCode::parse(s)
    }

    #[test]
    fn google_dns_is_us_as15169() {
        for ip in [
            "8.8.8.8",
            "2001:4860:4860::8888",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
        ] {
            let g = look(ip);
            assert_eq!(g.country, cc("US"), "{ip}");
            assert_eq!(g.asn, Some(15169), "{ip}");
            assert!(
                g.as_org.as_deref().unwrap_or("").contains("Google"),
                "{ip}: {g:?}"
            );
            assert_eq!(g.scope, AddressScope::Public);
        }
    }

    #[test]
    fn german_providers_are_de() {
        let hetzner = look("88.198.1.1");
        assert_eq!(hetzner.country, cc("DE"));
        assert_eq!(hetzner.asn, Some(24940));
        assert!(
            hetzner.as_org.as_deref().unwrap_or("").contains("Hetzner"),
            "{hetzner:?}"
        );

        let telekom = look("80.156.1.1");
        assert_eq!(telekom.country, cc("DE"));
        assert_eq!(telekom.asn, Some(3320));
        assert!(
            telekom.as_org.as_deref().unwrap_or("").contains("Telekom"),
            "{telekom:?}"
        );
    }

    #[test]
    fn zoom_ranges_resolve_to_zoom_but_not_to_their_data_centre() {
        // Every AS30103 block in the 2026-06 snapshot is WHOIS-registered in the US
        // (51 networks) or AU (1), so a Zoom Frankfurt server shows as US here; region
        // hints (hostnames, RTT) or a GeoLite2-City file are needed to see it in DE.
        let g = look("206.247.0.1");
        assert_eq!(g.asn, Some(30103), "{g:?}");
        assert!(
            g.as_org.as_deref().unwrap_or("").starts_with("Zoom Video"),
            "{g:?}"
        );
        assert_eq!(g.country, cc("US"), "{g:?}");
    }

    #[test]
    fn russian_and_chinese_addresses() {
        let yandex = look("77.88.8.8");
        assert_eq!(yandex.country, cc("RU"));
        assert_eq!(yandex.asn, Some(13238));
        let rules = TransferRules::default();
        assert_eq!(
            rules.jurisdiction(&yandex),
            Jurisdiction::NoAdequacyHighRisk
        );
        // 114DNS, China Telecom / Nanjing.
        assert_eq!(look("114.114.114.114").country, cc("CN"));
    }

    #[test]
    fn local_addresses_have_scope_but_no_country() {
        for (ip, scope) in [
            ("10.0.0.1", AddressScope::Private),
            ("192.168.1.10", AddressScope::Private),
            ("fd00::1", AddressScope::Private),
            ("127.0.0.1", AddressScope::Loopback),
            ("::1", AddressScope::Loopback),
            ("100.64.1.1", AddressScope::Cgnat),
            ("169.254.1.1", AddressScope::LinkLocal),
            ("fe80::1", AddressScope::LinkLocal),
            ("224.0.0.251", AddressScope::Multicast),
            ("192.0.2.1", AddressScope::Documentation),
            ("::ffff:192.168.0.1", AddressScope::Private),
        ] {
            let g = look(ip);
            assert_eq!(g.scope, scope, "{ip}");
            assert_eq!(
                (g.country, g.asn, g.as_org.is_none()),
                (None, None, true),
                "{ip}"
            );
        }
    }

    #[test]
    fn jurisdiction_of_looked_up_addresses() {
        let rules = TransferRules::default();
        assert_eq!(rules.jurisdiction(&look("88.198.1.1")), Jurisdiction::Eea);
        assert_eq!(rules.jurisdiction(&look("8.8.8.8")), Jurisdiction::UsDpf);
        assert!(rules.note(CountryCode::from_static("US")).is_some());
        assert_eq!(
            rules.jurisdiction(&look("10.1.1.1")),
            Jurisdiction::NotApplicable
        );
        // CH: Swisscom, AS3303.
        let swisscom = look("138.188.1.1");
        assert_eq!(swisscom.country, cc("CH"), "{swisscom:?}");
        assert_eq!(rules.jurisdiction(&swisscom), Jurisdiction::Adequacy);
    }

    #[test]
    fn geo_db_can_be_shared_across_threads() {
        fn shareable<T: Send + Sync>() {}
        shareable::<GeoDb>();
        let ip: IpAddr = "88.198.1.1".parse().unwrap();
        let from_thread = std::thread::scope(|s| s.spawn(|| db().lookup(ip)).join().unwrap());
        assert_eq!(from_thread, db().lookup(ip));
    }

    #[test]
    fn org_strings_are_shared_between_lookups() {
        let a = look("88.198.1.1").as_org.unwrap();
        let b = look("88.198.1.2").as_org.unwrap();
        assert!(Arc::ptr_eq(&a, &b));
    }

    #[test]
    fn geo_info_serialises_small() {
        let json = serde_json::to_string(&look("8.8.8.8")).unwrap();
        assert!(
            json.starts_with(r#"{"country":"US","asn":15169,"as_org":"#),
            "{json}"
        );
        assert!(json.ends_with(r#","scope":"public"}"#), "{json}");
        let json = serde_json::to_string(&look("10.0.0.1")).unwrap();
        assert_eq!(json, r#"{"scope":"private"}"#);
    }

    #[test]
    fn builtin_sources_describe_themselves() {
        let [country, asn] = db().sources();
        assert_eq!(country.origin, DbOrigin::Builtin);
        assert_eq!(asn.kind, DbKind::Asn);
        assert!(country.build_epoch > 1_700_000_000);
        assert!(asn.build_epoch > 1_700_000_000);
    }

    #[test]
    fn bad_paths_give_errors_naming_the_path() {
        let missing = Path::new("/nonexistent/GeoLite2-Country.mmdb");
        let err = GeoDb::open(Some(missing), None).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("/nonexistent/GeoLite2-Country.mmdb"), "{msg}");
        assert!(msg.contains("country"), "{msg}");

        let dir = std::env::temp_dir().join(format!("leakscope-geo-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let junk = dir.join("not-an.mmdb");
        std::fs::write(&junk, b"this is not a MaxMind DB").unwrap();
        let msg = GeoDb::open(None, Some(&junk)).unwrap_err().to_string();
        assert!(msg.contains(&*junk.to_string_lossy()), "{msg}");
        assert!(msg.contains("not a valid MaxMind DB"), "{msg}");

        // Swapped flags: the ASN database given as the country database.
        let asn_file = dir.join("asn.mmdb");
        std::fs::write(&asn_file, BUILTIN_ASN).unwrap();
        let msg = GeoDb::open(Some(&asn_file), None).unwrap_err().to_string();
        assert!(msg.contains("not a country database"), "{msg}");
        // The same file in the right place works, and is used.
        let from_file = GeoDb::open(None, Some(&asn_file)).unwrap();
        assert_eq!(
            from_file.lookup("8.8.8.8".parse().unwrap()).asn,
            Some(15169)
        );
        assert_eq!(from_file.sources()[1].origin, DbOrigin::File(asn_file));
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn country_schema_by_database_type() {
        assert_eq!(country_schema("GeoLite2-Country"), CountrySchema::GeoIp2);
        assert_eq!(country_schema("GeoIP2-City"), CountrySchema::GeoIp2);
        assert_eq!(country_schema("DBIP-Country-Lite"), CountrySchema::GeoIp2);
        assert_eq!(country_schema("country ipvAll"), CountrySchema::Flat);
    }

    /// `cargo test --release --lib enrich::geo::tests::lookup_speed -- --ignored --nocapture`
    #[test]
    #[ignore = "timing, run in release by hand"]
    fn lookup_speed() {
        const N: u32 = 1_000_000;
        let db = db();
        let mut x: u32 = 0x9e37_79b9;
        let mut found = 0usize;
        let t = std::time::Instant::now();
        for _ in 0..N {
            // xorshift: spread over the whole IPv4 space.
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            let g = db.lookup(IpAddr::V4(Ipv4Addr::from(x)));
            found += usize::from(g.country.is_some()) + usize::from(g.as_org.is_some());
        }
        let dt = t.elapsed();
        println!(
            "{N} random IPv4 lookups: {dt:?} ({:.0} ns/lookup), {found} fields found",
            dt.as_nanos() as f64 / f64::from(N)
        );
        // One lookup per flow to a few thousand servers: mostly cache hits.
        let servers: Vec<IpAddr> = (0..5000u32)
            .map(|i| IpAddr::V4(Ipv4Addr::from(i.wrapping_mul(0x9e37_79b9) | 0x0100_0000)))
            .collect();
        let t = std::time::Instant::now();
        for i in 0..N as usize {
            let g = db.lookup(servers[i % servers.len()]);
            found += usize::from(g.asn.is_some());
        }
        let dt = t.elapsed();
        println!(
            "{N} lookups over {} addresses: {dt:?} ({:.0} ns/lookup), {found} fields found",
            servers.len(),
            dt.as_nanos() as f64 / f64::from(N)
        );
    }

    proptest! {
        #[test]
        fn random_addresses_never_panic(v4 in any::<u32>(), v6 in any::<u128>()) {
            for ip in [IpAddr::V4(Ipv4Addr::from(v4)), IpAddr::V6(Ipv6Addr::from(v6))] {
                let g = db().lookup(ip);
                if !g.scope.is_public() {
                    prop_assert!(g.country.is_none() && g.asn.is_none() && g.as_org.is_none());
                    prop_assert_eq!(
                        TransferRules::default().jurisdiction(&g),
                        Jurisdiction::NotApplicable
                    );
                }
            }
        }
    }
}
