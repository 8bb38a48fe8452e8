//! Text from packets (SNI, Host, SIP headers, certificate fields) must never reach a
//! terminal as control sequences: escape C0/C1 controls, DEL and bidi overrides.

use std::borrow::Cow;

/// True for characters that can move the cursor, change colours or reorder text.
fn is_dangerous(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}'
        | '\u{200e}' | '\u{200f}' | '\u{061c}'
        | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// The text with every dangerous character written as `\u{…}` (and backslashes doubled,
/// so the escape cannot be forged).
pub fn for_terminal(s: &str) -> Cow<'_, str> {
    if !s.chars().any(|c| is_dangerous(c) || c == '\\') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_dangerous(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else if c == '\\' {
            out.push_str("\\\\");
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_csi_osc_and_bidi() {
        let evil = "evil\u{1b}]0;pwned\u{7}\u{1b}[31m.example\u{202e}gpj.exe\u{9b}";
        let safe = for_terminal(evil);
        assert!(!safe.chars().any(is_dangerous));
        assert_eq!(
            safe,
            "evil\\u{1b}]0;pwned\\u{7}\\u{1b}[31m.example\\u{202e}gpj.exe\\u{9b}"
        );
        assert!(matches!(for_terminal("zoom.us"), Cow::Borrowed(_)));
    }

    proptest::proptest! {
        #[test]
        fn nothing_dangerous_survives(s in ".*") {
            proptest::prop_assert!(!for_terminal(&s).chars().any(is_dangerous));
        }
    }
}
