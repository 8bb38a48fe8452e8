//! TODO

pub mod geo;
