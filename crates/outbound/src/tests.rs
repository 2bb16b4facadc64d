#![allow(clippy::unwrap_used)]
use super::*;

fn refused(p: &OutboundPolicy, url: &str) -> bool {
    p.check(url).is_err()
}

#[test]
fn every_spelling_of_an_internal_address_is_refused() {
    let p = OutboundPolicy::deny_internal();
    for url in [
        // loopback, in every notation the URL standard reads
        "http://127.0.0.1/",
        "http://127.0.0.1:5432/",
        "http://127.1/",
        "http://127.0.1/",
        "http://2130706433/",
        "http://0177.0.0.1/",
        "http://0177.0.0.01/",
        "http://0x7f.0.0.1/",
        "http://0x7f.1/",
        "http://0x7f000001/",
        "http://017700000001/",
        "http://127.255.255.254/",
        "http://%31%32%37.0.0.1/",
        "http://\u{ff11}\u{ff12}\u{ff17}.0.0.1/",
        "https://127.0.0.1:443/",
        "http://[::1]/",
        "http://[0:0:0:0:0:0:0:1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://[::ffff:7f00:1]/",
        "http://[::127.0.0.1]/",
        "http://[64:ff9b::127.0.0.1]/",
        "http://[2002:7f00:1::1]/",
        // unspecified
        "http://0.0.0.0/",
        "http://0/",
        "http://[::]/",
        // private
        "http://10.1.2.3/",
        "http://012.1.2.3/",
        "http://172.16.0.1/",
        "http://172.31.255.255/",
        "http://192.168.1.1/",
        "http://3232235777/",
        "http://[::ffff:10.0.0.1]/",
        "http://[::ffff:192.168.0.1]:8080/",
        // link-local, including the cloud metadata address in hex
        "http://169.254.169.254/",
        "http://0xA9.0xFE.0xA9.0xFE/",
        "http://[fe80::1]/",
        // carrier-grade NAT
        "http://100.64.0.1/",
        "http://100.127.255.254/",
        // unique-local, site-local
        "http://[fd00::1]/",
        "http://[fc00::1]/",
        "http://[fec0::1]/",
        // multicast, broadcast, reserved
        "http://224.0.0.1/",
        "http://239.255.255.250/",
        "http://255.255.255.255/",
        "http://4294967295/",
        "http://240.0.0.1/",
        "http://[ff02::1]/",
        // documentation and benchmarking
        "http://192.0.2.1/",
        "http://198.51.100.7/",
        "http://203.0.113.9/",
        "http://198.18.0.1/",
        "http://198.19.255.1/",
        "http://[2001:db8::1]/",
        "http://[2001:2::1]/",
        "http://[3fff::1]/",
        // others that reach inside
        "http://192.0.0.8/",
        "http://[2001::1]/",
        "http://[100::1]/",
        "http://[64:ff9b:1::1]/",
        // loopback by name (resolved from /etc/hosts)
        "http://localhost/",
        "http://localhost./",
        "http://LOCALHOST:22/",
    ] {
        assert!(refused(&p, url), "admitted {url}");
    }
}

#[test]
fn public_addresses_are_admitted_without_connecting() {
    let p = OutboundPolicy::deny_internal();
    for url in [
        "http://8.8.8.8/",
        "https://1.1.1.1:8443/v1/chat",
        "http://134744072/",
        "http://100.63.255.255/",
        "http://100.128.0.1/",
        "http://172.15.255.255/",
        "http://172.32.0.1/",
        "http://169.253.0.1/",
        "http://[2606:4700:4700::1111]/",
        "http://[::ffff:8.8.8.8]/",
        "http://[2002:808:808::1]/",
        "http://[64:ff9b::8.8.8.8]/",
    ] {
        let d = p.check(url).unwrap_or_else(|e| panic!("{url}: {e}"));
        assert_eq!(d.addrs.len(), 1, "{url}");
    }
    let d = p.check("http://134744072:81/x").unwrap();
    assert_eq!(d.addrs, vec!["8.8.8.8:81".parse().unwrap()]);
    assert_eq!(d.host, "8.8.8.8");
}

#[test]
fn the_classifier_names_each_range() {
    let cases: &[(&str, Option<&str>)] = &[
        ("127.0.0.1", Some("loopback (127.0.0.0/8)")),
        ("::1", Some("loopback (::1)")),
        ("::ffff:127.0.0.1", Some("loopback (127.0.0.0/8)")),
        (
            "::ffff:169.254.169.254",
            Some("link-local (169.254.0.0/16)"),
        ),
        ("::127.0.0.1", Some("IPv4-compatible (::/96, deprecated)")),
        ("::8.8.8.8", Some("IPv4-compatible (::/96, deprecated)")),
        ("0.0.0.0", Some("unspecified or 'this network' (0.0.0.0/8)")),
        ("::", Some("unspecified (::)")),
        ("100.64.0.0", Some("carrier-grade NAT (100.64.0.0/10)")),
        ("255.255.255.255", Some("broadcast (255.255.255.255)")),
        ("fd12:3456::1", Some("unique-local (fc00::/7)")),
        ("fe80::1", Some("link-local (fe80::/10)")),
        ("ff05::2", Some("multicast (ff00::/8)")),
        ("2002:c0a8:101::1", Some("private (192.168.0.0/16)")),
        ("8.8.4.4", None),
        ("2a00:1450::1", None),
    ];
    for (ip, want) in cases {
        let ip: IpAddr = ip.parse().unwrap();
        assert_eq!(refused_range(ip), *want, "{ip}");
    }
}

#[test]
fn only_http_urls_with_a_host() {
    let p = OutboundPolicy::deny_internal();
    for (url, syntax) in [
        ("ftp://8.8.8.8/", true),
        ("file:///etc/passwd", true),
        ("gopher://8.8.8.8:70/", true),
        ("not a url", true),
        ("http://", true),
        ("http://[::1/", true),
        ("http://127.0.0.1/", false),
    ] {
        let e = p.check(url).unwrap_err();
        let public = e.public_detail();
        assert_eq!(public == REFUSED_DESTINATION, !syntax, "{url}: {e}");
    }
}

#[test]
fn refusals_say_one_sentence_whatever_the_cause() {
    let p = OutboundPolicy::deny_internal();
    let a = p.check("http://127.0.0.1/").unwrap_err();
    let b = p.check("http://10.0.0.1:22/").unwrap_err();
    let c = p.check("http://no-such-host.invalid/").unwrap_err();
    assert!(matches!(c, Refusal::Unresolvable { .. }), "{c}");
    assert_eq!(a.public_detail(), b.public_detail());
    assert_eq!(a.public_detail(), c.public_detail());
    assert!(!a.public_detail().contains("127"));
    // The details are for the log.
    assert!(a.to_string().contains("loopback"), "{a}");
}

#[test]
fn the_allow_list_admits_what_it_names() {
    let p = OutboundPolicy::parse(
        " 127.0.0.1:8000 , 10.0.0.0/8:8000-8099, [::1]:9000, fd00::/8, localhost:11434, *.svc.internal, 192.168.7.7",
    )
    .unwrap();
    assert_eq!(p.allow_entries(), 7);
    // an address, one port, in every spelling
    assert!(p.check("http://127.0.0.1:8000/").is_ok());
    assert!(p.check("http://127.1:8000/").is_ok());
    assert!(p.check("http://2130706433:8000/").is_ok());
    assert!(p.check("http://[::ffff:127.0.0.1]:8000/").is_ok());
    assert!(p.check("http://127.0.0.1:8001/").is_err());
    assert!(p.check("http://127.0.0.1/").is_err());
    assert!(p.check("http://127.0.0.2:8000/").is_err());
    // a network with a port range
    assert!(p.check("http://10.20.30.40:8050/").is_ok());
    assert!(p.check("http://10.20.30.40:8100/").is_err());
    assert!(p.check("http://11.0.0.1:8050/").is_ok(), "public anyway");
    assert!(p.check("http://172.16.0.1:8050/").is_err());
    // IPv6
    assert!(p.check("http://[::1]:9000/").is_ok());
    assert!(p.check("http://[::1]:9001/").is_err());
    assert!(p.check("http://[fd00::5]/").is_ok());
    assert!(p.check("http://[fc00::5]/").is_err());
    // a name, one port
    assert!(
        p.check("http://localhost:11434/v1/chat/completions")
            .is_ok()
    );
    assert!(p.check("http://LocalHost.:11434/").is_ok());
    assert!(p.check("http://localhost:11435/").is_err());
    // an address without ports
    assert!(p.check("http://192.168.7.7:1/").is_ok());
    assert!(p.check("http://192.168.7.8/").is_err());
}

#[test]
fn bad_allow_entries_are_named() {
    for bad in [
        "127.1",
        "2130706433",
        "0x7f.0.0.1",
        "10.0.0.0/33",
        "host:0",
        "host:70000",
        "host:80-70",
        "host:http",
        "[::1",
        "[::1]x",
        "[127.0.0.1]:80",
        "a b",
        ":80",
        "-bad-.example",
        "fd00::/200",
    ] {
        let e = OutboundPolicy::parse(bad).unwrap_err();
        assert!(e.to_string().contains(bad.trim()), "{bad}: {e}");
    }
    assert_eq!(OutboundPolicy::parse(" , ").unwrap().allow_entries(), 0);
}

#[test]
fn wildcard_domains_admit_names_below_only() {
    let e = parse_entry("*.svc.internal:443").unwrap();
    assert!(e.admits_name("api.svc.internal", 443));
    assert!(e.admits_name("a.b.svc.internal", 443));
    assert!(!e.admits_name("svc.internal", 443));
    assert!(!e.admits_name("evilsvc.internal", 443));
    assert!(!e.admits_name("api.svc.internal", 80));
}

#[test]
fn refused_urls_get_no_client() {
    let p = OutboundPolicy::deny_internal();
    for url in [
        "http://127.0.0.1:1/",
        "http://[::ffff:127.0.0.1]:1/",
        "http://localhost:1/",
    ] {
        assert!(p.client(url, Duration::from_secs(1)).is_err(), "{url}");
    }
}

#[test]
fn an_allowed_name_is_called_at_the_address_checked() {
    use std::io::{Read, Write};
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        let mut buf = [0u8; 1024];
        let n = s.read(&mut buf).unwrap();
        s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok")
            .unwrap();
        String::from_utf8_lossy(&buf[..n]).into_owned()
    });
    let p = OutboundPolicy::parse(&format!("localhost:{port}")).unwrap();
    let pinned = p
        .client(
            &format!("http://localhost:{port}/x"),
            Duration::from_secs(5),
        )
        .unwrap();
    assert!(
        pinned
            .destination
            .addrs
            .iter()
            .all(|a| a.ip().is_loopback())
    );
    let r = pinned
        .client
        .get(pinned.destination.url.as_str())
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let req = server.join().unwrap();
    assert!(req.starts_with("GET /x HTTP/1.1"), "{req}");
}

#[test]
fn unrestricted_still_checks_syntax() {
    let p = OutboundPolicy::unrestricted();
    assert!(p.check("http://127.0.0.1/").is_ok());
    assert!(p.check("ftp://127.0.0.1/").is_err());
}
