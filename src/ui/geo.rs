//! Approximate country centroids (ISO 3166-1 alpha-2 → latitude, longitude in degrees) for
//! the world map: enough to show which way the data goes, not where a server stands.
//! Values are rounded centroids of each country's main landmass.

/// (code, latitude, longitude), sorted by code for binary search.
const CENTROIDS: &[(&str, f64, f64)] = &[
    ("AE", 24.0, 54.0),
    ("AR", -34.0, -64.0),
    ("AT", 47.5, 14.5),
    ("AU", -25.0, 134.0),
    ("BD", 24.0, 90.0),
    ("BE", 50.6, 4.6),
    ("BG", 42.7, 25.5),
    ("BR", -10.0, -52.0),
    ("BY", 53.5, 28.0),
    ("CA", 56.0, -106.0),
    ("CH", 46.8, 8.2),
    ("CL", -31.0, -71.0),
    ("CN", 35.0, 103.0),
    ("CO", 4.0, -73.0),
    ("CY", 35.0, 33.0),
    ("CZ", 49.8, 15.5),
    ("DE", 51.2, 10.4),
    ("DK", 56.0, 10.0),
    ("EE", 58.7, 25.5),
    ("EG", 26.5, 30.0),
    ("ES", 40.2, -3.6),
    ("FI", 64.0, 26.0),
    ("FR", 46.6, 2.4),
    ("GB", 54.0, -2.0),
    ("GR", 39.0, 22.0),
    ("HK", 22.3, 114.2),
    ("HR", 45.1, 15.5),
    ("HU", 47.2, 19.5),
    ("ID", -2.5, 118.0),
    ("IE", 53.2, -8.0),
    ("IL", 31.0, 35.0),
    ("IN", 22.0, 79.0),
    ("IR", 32.0, 53.0),
    ("IS", 65.0, -18.5),
    ("IT", 42.8, 12.6),
    ("JP", 36.5, 138.0),
    ("KE", 0.2, 37.9),
    ("KR", 36.5, 127.8),
    ("KZ", 48.0, 67.0),
    ("LI", 47.2, 9.6),
    ("LT", 55.2, 23.9),
    ("LU", 49.8, 6.1),
    ("LV", 56.9, 24.6),
    ("MT", 35.9, 14.4),
    ("MX", 23.6, -102.5),
    ("MY", 4.2, 102.0),
    ("NG", 9.1, 8.7),
    ("NL", 52.2, 5.5),
    ("NO", 61.0, 9.0),
    ("NZ", -41.0, 174.0),
    ("PH", 12.9, 121.8),
    ("PK", 30.4, 69.3),
    ("PL", 52.0, 19.4),
    ("PT", 39.6, -8.0),
    ("RO", 45.9, 25.0),
    ("RS", 44.0, 21.0),
    ("RU", 60.0, 90.0),
    ("SA", 24.0, 45.0),
    ("SE", 62.0, 15.0),
    ("SG", 1.35, 103.8),
    ("SI", 46.1, 14.8),
    ("SK", 48.7, 19.7),
    ("TH", 15.8, 101.0),
    ("TR", 39.0, 35.2),
    ("TW", 23.7, 121.0),
    ("UA", 49.0, 31.5),
    ("US", 39.8, -98.6),
    ("VN", 16.0, 107.8),
    ("ZA", -29.0, 24.7),
];

/// The centroid of a country by ISO alpha-2 code (case-insensitive).
pub fn centroid(code: &str) -> Option<(f64, f64)> {
    let up = code.trim().to_ascii_uppercase();
    CENTROIDS
        .binary_search_by(|(c, _, _)| c.cmp(&up.as_str()))
        .ok()
        .and_then(|i| CENTROIDS.get(i))
        .map(|(_, lat, lon)| (*lat, *lon))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_in_range() {
        assert!(CENTROIDS.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(
            CENTROIDS
                .iter()
                .all(|(_, lat, lon)| lat.abs() <= 90.0 && lon.abs() <= 180.0)
        );
        assert_eq!(centroid("de"), Some((51.2, 10.4)));
        assert_eq!(centroid("XX"), None);
    }
}
