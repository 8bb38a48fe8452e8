//! Capture files: pcap (µs and ns, both byte orders), pcapng, gzip, stdin.
