//! Network interfaces as libpcap sees them, and the default one to capture on.

use crate::report::sanitize::for_terminal;
use std::net::IpAddr;

/// One capture device.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Interface {
    pub name: String,
    pub description: Option<String>,
    pub addresses: Vec<IpAddr>,
    pub up: bool,
    pub running: bool,
    pub loopback: bool,
    pub wireless: bool,
}

impl Interface {
    fn from_device(d: pcap::Device) -> Self {
        Interface {
            addresses: d.addresses.iter().map(|a| a.addr).collect(),
            up: d.flags.is_up(),
            running: d.flags.is_running(),
            loopback: d.flags.is_loopback(),
            wireless: d.flags.is_wireless(),
            name: d.name,
            description: d.desc,
        }
    }

    /// `up,running,loopback` as one word.
    pub fn flag_words(&self) -> String {
        let mut w = Vec::new();
        for (on, word) in [
            (self.up, "up"),
            (self.running, "running"),
            (self.loopback, "loopback"),
            (self.wireless, "wireless"),
        ] {
            if on {
                w.push(word);
            }
        }
        if w.is_empty() {
            "down".into()
        } else {
            w.join(",")
        }
    }
}

/// The pseudo-device that captures on all interfaces (Linux).
pub const ANY: &str = "any";

/// All capture devices.
pub fn list() -> Result<Vec<Interface>, pcap::Error> {
    Ok(pcap::Device::list()?
        .into_iter()
        .map(Interface::from_device)
        .collect())
}

/// The first interface that is up, not loopback and has addresses; else `any`.
pub fn default_name(interfaces: &[Interface]) -> String {
    interfaces
        .iter()
        .find(|i| i.up && !i.loopback && !i.addresses.is_empty() && i.name != ANY)
        .map_or_else(|| ANY.to_string(), |i| i.name.clone())
}

/// The `interfaces` listing: one line per device, the default marked with `*`.
pub fn table(interfaces: &[Interface]) -> String {
    let default = default_name(interfaces);
    let width = interfaces
        .iter()
        .map(|i| i.name.len())
        .max()
        .unwrap_or(4)
        .clamp(4, 24);
    let mut out = format!(
        "  {:width$}  {:24}  {:32}  DESCRIPTION\n",
        "NAME", "FLAGS", "ADDRESSES"
    );
    for i in interfaces {
        let mark = if i.name == default { '*' } else { ' ' };
        let addrs: Vec<String> = i.addresses.iter().map(IpAddr::to_string).collect();
        out.push_str(&format!(
            "{mark} {:width$}  {:24}  {:32}  {}\n",
            for_terminal(&i.name),
            i.flag_words(),
            addrs.join(" "),
            for_terminal(i.description.as_deref().unwrap_or(""))
        ));
    }
    out.push_str(&format!(
        "(* = default for `leakscope live`: {})\n",
        for_terminal(&default)
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iface(name: &str, up: bool, loopback: bool, addr: bool) -> Interface {
        Interface {
            name: name.into(),
            description: None,
            addresses: if addr {
                vec![[10, 0, 0, 1].into()]
            } else {
                vec![]
            },
            up,
            running: up,
            loopback,
            wireless: false,
        }
    }

    #[test]
    fn default_skips_loopback_down_and_addressless() {
        let list = vec![
            iface("lo", true, true, true),
            iface("eth1", false, false, true),
            iface("docker0", true, false, false),
            iface("eth0", true, false, true),
        ];
        assert_eq!(default_name(&list), "eth0");
        assert_eq!(default_name(&list[..3]), ANY);
        let t = table(&list);
        assert!(t.contains("* eth0"), "{t}");
        assert!(t.contains("up,running,loopback"), "{t}");
    }
}
