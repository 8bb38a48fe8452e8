//! Enrichment of flows with knowledge from outside their own bytes: names from DNS answers,
//! and country and network of addresses from GeoIP/ASN databases.

pub mod dns_cache;
pub mod geo;
