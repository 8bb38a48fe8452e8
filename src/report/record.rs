//! The records of the output contract. Key names are a public interface: add fields freely,
//! never rename these.

use crate::classify::{NameSource, Role, Route};
use crate::decode::defrag::DefragStats;
use crate::engine::PacketStats;
use crate::flow::{EndReason, Facts, Flow, TableStats};
use crate::model::{Endpoint, IpProto, Timestamp};
use crate::verdict::{Encryption, Finding, Place};
use serde::Serialize;

/// A value per direction, relative to the client.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct PerDirection {
    pub to_server: u64,
    pub to_client: u64,
}

impl From<[u64; 2]> for PerDirection {
    fn from(v: [u64; 2]) -> Self {
        PerDirection {
            to_server: v[0],
            to_client: v[1],
        }
    }
}

/// `{"record": "flow", ...}`: one finished flow.
#[derive(Clone, Debug, Serialize)]
pub struct FlowRecord<'a> {
    pub record: &'static str,
    pub id: u64,
    pub transport: IpProto,
    /// The client (SYN sender, else first sender).
    pub src: Endpoint,
    /// The server.
    pub dst: Endpoint,
    pub app: Option<&'a str>,
    /// Why the app was chosen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_basis: Option<&'a str>,
    pub server_name: Option<&'a str>,
    pub server_name_source: Option<NameSource>,
    pub role: Role,
    pub route: Option<Route>,
    /// Why media takes that route.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub route_basis: Option<&'a str>,
    pub encryption: Encryption,
    pub findings: Vec<Finding>,
    pub protocol: Option<&'static str>,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    pub duration_s: f64,
    pub packets: PerDirection,
    pub bytes: PerDirection,
    pub end_reason: EndReason,
    /// The input file where the flow was first seen.
    pub source: &'a str,
    /// Where the server is: country, ASN, organisation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<&'a Place>,
    #[serde(flatten)]
    pub facts: &'a Facts,
}

impl<'a> FlowRecord<'a> {
    /// `tcp/tls`, `udp/rtp`, or the transport alone when no protocol was recognised (the
    /// tables of the text and HTML reports).
    pub fn protocol_words(&self) -> String {
        match self.protocol {
            Some(p) => format!("{}/{p}", self.transport.name()),
            None => self.transport.name().into_owned(),
        }
    }

    /// A record with the honest defaults of a flow nothing has classified yet.
    pub fn new(flow: &'a Flow, reason: EndReason, source: &'a str) -> Self {
        let name = crate::classify::server_name(flow);
        FlowRecord {
            record: "flow",
            id: flow.id,
            transport: flow.key.proto,
            src: flow.client(),
            dst: flow.server(),
            app: None,
            app_basis: None,
            server_name: name.map(|(n, _)| n),
            server_name_source: name.map(|(_, s)| s),
            role: crate::classify::Role::Other,
            route: None,
            route_basis: None,
            encryption: Encryption::Unknown,
            findings: Vec::new(),
            protocol: flow.facts().protocol_label(),
            first_seen: flow.first_seen,
            last_seen: flow.last_seen,
            duration_s: flow.last_seen.since(flow.first_seen) as f64 / 1e9,
            packets: flow.packets.into(),
            bytes: flow.bytes.into(),
            end_reason: reason,
            source,
            server: None,
            facts: flow.facts(),
        }
    }
}

/// One input of the run.
#[derive(Clone, Debug, Default, Serialize)]
pub struct InputSummary {
    pub name: String,
    pub format: Option<String>,
    pub frames: u64,
    /// One line naming the file and byte offset, when the input could not be read to the end.
    pub error: Option<String>,
}

/// Flow counters of the run.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct FlowCounts {
    pub reported: u64,
    #[serde(flatten)]
    pub table: TableStats,
}

/// `{"record": "summary", ...}`: closes every stream.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    pub record: &'static str,
    pub inputs: Vec<InputSummary>,
    pub first_seen: Option<Timestamp>,
    pub last_seen: Option<Timestamp>,
    pub packets: PacketStats,
    pub flows: FlowCounts,
    pub analysis: crate::analyze::AnalysisStats,
    pub defrag: DefragStats,
    /// Inputs that ended with an error.
    pub errors: u64,
    /// The policy checked (`--policy`) and its violations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<crate::policy::PolicySummary>,
    /// Live capture only: the interface, packets lost before analysis, the process identity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub live: Option<LiveStats>,
}

/// `"live": {...}` in the summary of a live capture.
#[derive(Clone, Debug, Default, Serialize)]
pub struct LiveStats {
    pub interface: String,
    /// Packets libpcap delivered to leakscope.
    pub captured: u64,
    /// Dropped by the kernel: the capture buffer was full (pcap_stats `ps_drop`).
    pub kernel_dropped: u64,
    /// Dropped by the interface or its driver (pcap_stats `ps_ifdrop`).
    pub interface_dropped: u64,
    /// Dropped by leakscope: the analysis fell behind and its queue was full.
    pub leakscope_dropped: u64,
    /// Why the capture stopped: `signal`, `duration`, `quit`, `error`.
    pub stopped_by: String,
    /// The real and effective user id the process ran as after opening the interface.
    pub uid: u32,
    pub euid: u32,
    pub gid: u32,
    /// The pcapng file the frames were also written to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub written_to: Option<String>,
}
