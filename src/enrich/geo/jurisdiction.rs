//! GDPR Chapter V: is a transfer to this country inside the EEA, covered by an
//! adequacy decision, or a third-country transfer?
//!
//! References:
//! - GDPR Art. 45 (adequacy): <https://eur-lex.europa.eu/eli/reg/2016/679/oj>
//! - The Commission's list of adequacy decisions:
//!   <https://commission.europa.eu/law/law-topic/data-protection/international-dimension-data-protection/adequacy-decisions_en>
//! - EU-US Data Privacy Framework, Implementing Decision (EU) 2023/1795:
//!   <https://eur-lex.europa.eu/eli/dec_impl/2023/1795/oj>
//! - EEA Agreement (EU27 + Iceland, Liechtenstein, Norway):
//!   <https://www.efta.int/eea/eea-agreement>

use super::{AddressScope, CountryCode, GeoInfo};
use serde::{Deserialize, Serialize};

/// Where a transfer lands, legally. Ordered roughly from harmless to worst.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Jurisdiction {
    /// EU27 (with its outermost regions and Åland) plus Iceland, Liechtenstein, Norway.
    Eea,
    /// A country with a full adequacy decision (GDPR Art. 45).
    Adequacy,
    /// The United States: adequacy only for organisations certified under the EU-US
    /// Data Privacy Framework (2023). The wire does not show certification, so a
    /// verdict should say "check the recipient's DPF listing".
    UsDpf,
    /// No adequacy decision: needs SCCs/BCRs or another Art. 46/49 basis.
    ThirdCountry,
    /// No adequacy, and state access to data is broad (e.g. RU, CN): the stronger flag.
    NoAdequacyHighRisk,
    /// Public address the databases could not place, or a registry pseudo-code (`EU`).
    Unknown,
    /// Private, local, multicast or documentation address: no transfer at all.
    NotApplicable,
}

/// Which countries count as EEA, adequate, DPF-conditional and high-risk.
///
/// `Default` is the Commission's list as of 2025; a config file can replace any list
/// (`[transfer] adequacy = ["CH", "GB"]`), missing keys keep the defaults.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TransferRules {
    eea: Vec<CountryCode>,
    adequacy: Vec<CountryCode>,
    /// Adequacy only for certified organisations (the US under the DPF).
    dpf: Vec<CountryCode>,
    high_risk: Vec<CountryCode>,
}

const fn cc(s: &str) -> CountryCode {
    CountryCode::from_static(s)
}

/// EU27 + IS, LI, NO. ISO lists some EU territories under their own codes: Åland
/// (AX, Finland) and the French outermost regions (GF, GP, MQ, RE, YT, MF) are EU
/// territory, so the GDPR applies there directly.
const EEA: &[CountryCode] = &[
    cc("AT"),
    cc("BE"),
    cc("BG"),
    cc("HR"),
    cc("CY"),
    cc("CZ"),
    cc("DK"),
    cc("EE"),
    cc("FI"),
    cc("FR"),
    cc("DE"),
    cc("GR"),
    cc("HU"),
    cc("IE"),
    cc("IT"),
    cc("LV"),
    cc("LT"),
    cc("LU"),
    cc("MT"),
    cc("NL"),
    cc("PL"),
    cc("PT"),
    cc("RO"),
    cc("SK"),
    cc("SI"),
    cc("ES"),
    cc("SE"),
    cc("IS"),
    cc("LI"),
    cc("NO"),
    cc("AX"),
    cc("GF"),
    cc("GP"),
    cc("MQ"),
    cc("RE"),
    cc("YT"),
    cc("MF"),
];

/// Full adequacy decisions (Canada's covers commercial organisations under PIPEDA).
const ADEQUACY: &[CountryCode] = &[
    cc("AD"),
    cc("AR"),
    cc("CA"),
    cc("FO"),
    cc("GG"),
    cc("IL"),
    cc("IM"),
    cc("JP"),
    cc("JE"),
    cc("NZ"),
    cc("KR"),
    cc("CH"),
    cc("GB"),
    cc("UY"),
];

const DPF: &[CountryCode] = &[cc("US")];

/// Countries without adequacy whose laws give the state broad access to data held
/// by companies; TELEMETRY.md asks for the stronger flag for these.
const HIGH_RISK: &[CountryCode] = &[cc("RU"), cc("CN")];

impl Default for TransferRules {
    fn default() -> Self {
        TransferRules {
            eea: EEA.to_vec(),
            adequacy: ADEQUACY.to_vec(),
            dpf: DPF.to_vec(),
            high_risk: HIGH_RISK.to_vec(),
        }
    }
}

impl TransferRules {
    /// Read rules from a TOML file (`eea`, `adequacy`, `dpf`, `high_risk`: lists of ISO
    /// country codes; missing keys keep the defaults). Errors say `file:line:column`.
    pub fn load(path: &std::path::Path) -> Result<TransferRules, String> {
        let name = path.display();
        let text = std::fs::read_to_string(path).map_err(|e| format!("{name}: {e}"))?;
        toml::from_str(&text).map_err(|e| {
            let (line, col) = e.span().map_or((0, 0), |sp| {
                let before = &text[..sp.start.min(text.len())];
                let line = before.matches('\n').count() + 1;
                let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
                (line, col)
            });
            format!("{name}:{line}:{col}: {}", e.message())
        })
    }

    /// Rules with explicit lists (for tests and config code).
    pub fn new(
        eea: Vec<CountryCode>,
        adequacy: Vec<CountryCode>,
        dpf: Vec<CountryCode>,
        high_risk: Vec<CountryCode>,
    ) -> Self {
        TransferRules {
            eea,
            adequacy,
            dpf,
            high_risk,
        }
    }

    pub fn jurisdiction(&self, geo: &GeoInfo) -> Jurisdiction {
        if geo.scope != AddressScope::Public {
            return Jurisdiction::NotApplicable;
        }
        match geo.country {
            Some(c) => self.of_country(c),
            None => Jurisdiction::Unknown,
        }
    }

    pub fn of_country(&self, c: CountryCode) -> Jurisdiction {
        if self.eea.contains(&c) {
            Jurisdiction::Eea
        } else if self.adequacy.contains(&c) {
            Jurisdiction::Adequacy
        } else if self.dpf.contains(&c) {
            Jurisdiction::UsDpf
        } else if self.high_risk.contains(&c) {
            Jurisdiction::NoAdequacyHighRisk
        } else if super::country_name(c) == super::country::UNKNOWN_COUNTRY {
            // Registry pseudo-codes (EU, AP, ZZ) say nothing about the jurisdiction.
            Jurisdiction::Unknown
        } else {
            Jurisdiction::ThirdCountry
        }
    }

    /// A caveat to print next to the country, where the bare category misleads.
    pub fn note(&self, c: CountryCode) -> Option<&'static str> {
        Some(match c.as_str() {
            "US" => {
                "adequacy only for organisations certified under the EU-US Data Privacy Framework (2023)"
            }
            "CA" => "adequacy covers commercial organisations subject to PIPEDA",
            "RU" | "CN" => {
                "no adequacy decision; national-security laws give the state broad access to data held by companies"
            }
            _ => return None,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn info(country: &str) -> GeoInfo {
        GeoInfo {
            country: CountryCode::parse(country),
            ..GeoInfo::default()
        }
    }

    #[test]
    fn default_rules_place_countries() {
        let r = TransferRules::default();
        for (c, want) in [
            ("DE", Jurisdiction::Eea),
            ("NO", Jurisdiction::Eea),
            ("RE", Jurisdiction::Eea),
            ("CH", Jurisdiction::Adequacy),
            ("GB", Jurisdiction::Adequacy),
            ("JP", Jurisdiction::Adequacy),
            ("US", Jurisdiction::UsDpf),
            ("RU", Jurisdiction::NoAdequacyHighRisk),
            ("CN", Jurisdiction::NoAdequacyHighRisk),
            ("IN", Jurisdiction::ThirdCountry),
            ("SG", Jurisdiction::ThirdCountry),
            ("EU", Jurisdiction::Unknown),
        ] {
            assert_eq!(r.jurisdiction(&info(c)), want, "{c}");
        }
        assert_eq!(r.jurisdiction(&GeoInfo::default()), Jurisdiction::Unknown);
    }

    #[test]
    fn non_public_addresses_are_not_transfers() {
        let r = TransferRules::default();
        let mut g = info("US");
        g.scope = AddressScope::Private;
        assert_eq!(r.jurisdiction(&g), Jurisdiction::NotApplicable);
    }

    #[test]
    fn notes_for_conditional_countries() {
        let r = TransferRules::default();
        let us = r.note(CountryCode::from_static("US")).unwrap();
        assert!(us.contains("Data Privacy Framework"));
        assert!(r.note(CountryCode::from_static("RU")).is_some());
        assert_eq!(r.note(CountryCode::from_static("DE")), None);
    }

    #[test]
    fn rules_from_config_keep_missing_lists() {
        let r: TransferRules = toml::from_str(r#"adequacy = ["CH"]"#).unwrap();
        assert_eq!(
            r.of_country(CountryCode::from_static("GB")),
            Jurisdiction::ThirdCountry
        );
        assert_eq!(
            r.of_country(CountryCode::from_static("CH")),
            Jurisdiction::Adequacy
        );
        assert_eq!(
            r.of_country(CountryCode::from_static("DE")),
            Jurisdiction::Eea
        );
        assert!(toml::from_str::<TransferRules>(r#"adequacy = ["CHE"]"#).is_err());
        assert!(toml::from_str::<TransferRules>(r#"adekwacy = ["CH"]"#).is_err());
    }
}

#[cfg(test)]
mod load_tests {
    use super::*;

    #[test]
    fn file_overrides_and_errors_name_the_place() {
        let dir = std::env::temp_dir().join(format!("leakscope-rules-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let good = dir.join("good.toml");
        let _ = std::fs::write(&good, "adequacy = [\"CH\"]\n");
        let rules = TransferRules::load(&good).unwrap_or_default();
        assert_eq!(rules.of_country(cc("GB")), Jurisdiction::ThirdCountry);
        assert_eq!(rules.of_country(cc("CH")), Jurisdiction::Adequacy);
        let bad = dir.join("bad.toml");
        let _ = std::fs::write(&bad, "eea = [\"DE\"]\nadequasy = []\n");
        let err = TransferRules::load(&bad).err().unwrap_or_default();
        assert!(err.contains("bad.toml:2:1:"), "{err}");
    }
}
