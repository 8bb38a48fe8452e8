//! Enrichment of flows with knowledge from outside their own bytes: names from DNS answers.

pub mod dns_cache;
