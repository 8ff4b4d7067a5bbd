//! Which proxy carries requests to the endpoint, by curl's and Go's conventions: the variable
//! for the endpoint's scheme, `ALL_PROXY` for both, and `NO_PROXY` to go direct.

use std::net::IpAddr;

use super::vars::Vars;
use crate::settings::Proxy;
use crate::Error;

/// The proxy for requests to `endpoint` (an `http`/`https` URL already validated), or `None`
/// to connect directly.
pub(super) fn resolve(endpoint: &str, vars: &Vars<'_>) -> Result<Option<Proxy>, Error> {
    let Ok(uri) = endpoint.parse::<http::Uri>() else {
        return Ok(None);
    };
    let https = uri.scheme_str() == Some("https");
    let names: [&'static str; 4] = if https {
        ["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"]
    } else {
        ["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"]
    };
    let Some((variable, value)) = vars.first(&names) else {
        return Ok(None);
    };
    let host = uri.host().unwrap_or_default();
    let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
    if let Some((_, list)) = vars.first(&["NO_PROXY", "no_proxy"]) {
        if bypasses(&list, host, port) {
            return Ok(None);
        }
    }
    parse(&value, variable)
        .map(Some)
        .map_err(|problem| Error::new(variable, problem))
}

/// Parses `[http://][user:pass@]host[:port][/]`. The value is never echoed: it may carry a
/// password.
fn parse(value: &str, variable: &'static str) -> Result<Proxy, String> {
    let value = value.trim();
    let rest = match value.split_once("://") {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("http") => rest,
        Some((scheme, _)) => {
            return Err(format!(
                "proxy scheme {scheme:?} is not supported; use an http:// proxy URL"
            ))
        }
        None => value,
    };
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let (credentials, authority) = match rest.rsplit_once('@') {
        Some((userinfo, authority)) => {
            let decoded = percent_encoding::percent_decode_str(userinfo)
                .decode_utf8()
                .map_err(|_| "the proxy credentials are not UTF-8 after percent-decoding")?;
            (Some(decoded.into_owned()), authority)
        }
        None => (None, rest),
    };
    let authority: http::uri::Authority = authority
        .parse()
        .map_err(|_| "is not a proxy URL; expected http://host:port".to_owned())?;
    if authority.host().is_empty() || authority.as_str().contains('/') {
        return Err("is not a proxy URL; expected http://host:port".to_owned());
    }
    let host = authority
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let port = authority.port_u16().unwrap_or(80);
    let url = match rest.rsplit_once('@') {
        Some((userinfo, _)) => format!("http://{userinfo}@{authority}"),
        None => format!("http://{authority}"),
    };
    Ok(Proxy {
        url,
        host,
        port,
        credentials,
        variable,
    })
}

/// Whether `NO_PROXY`'s list sends requests to `host:port` directly: `*`; a host name, which
/// also covers its subdomains (a leading `.` or `*.` is optional); an IP address or CIDR
/// range; each optionally with `:port`.
fn bypasses(list: &str, host: &str, port: u16) -> bool {
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase();
    let host_ip = host.parse::<IpAddr>().ok();
    list.split(',')
        .map(|entry| entry.trim().to_ascii_lowercase())
        .filter(|entry| !entry.is_empty())
        .any(|entry| {
            if entry == "*" {
                return true;
            }
            let (pattern, entry_port) = split_port(&entry);
            if entry_port.is_some_and(|p| p != port) {
                return false;
            }
            if let Some(ip) = host_ip {
                return ip_matches(pattern, ip);
            }
            let domain = pattern.trim_start_matches('*').trim_start_matches('.');
            !domain.is_empty()
                && (host == domain
                    || host
                        .strip_suffix(domain)
                        .is_some_and(|sub| sub.ends_with('.')))
        })
}

/// `host:port` → (`host`, port); IPv6 literals keep their colons (`[::1]:80`, `::1`).
fn split_port(entry: &str) -> (&str, Option<u16>) {
    if let Some(rest) = entry.strip_prefix('[') {
        return match rest.split_once(']') {
            Some((ip, port)) => (ip, port.strip_prefix(':').and_then(|p| p.parse().ok())),
            None => (entry, None),
        };
    }
    match entry.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => match port.parse() {
            Ok(port) => (host, Some(port)),
            Err(_) => (entry, None),
        },
        _ => (entry, None),
    }
}

/// An address entry (`10.0.0.1`, `::1`) or a CIDR range (`10.0.0.0/8`, `fd00::/8`).
fn ip_matches(pattern: &str, ip: IpAddr) -> bool {
    let (address, prefix) = match pattern.split_once('/') {
        Some((address, prefix)) => match prefix.parse::<u32>() {
            Ok(prefix) => (address, Some(prefix)),
            Err(_) => return false,
        },
        None => (pattern, None),
    };
    let Ok(network) = address.parse::<IpAddr>() else {
        return false;
    };
    match (network, ip) {
        (IpAddr::V4(net), IpAddr::V4(ip)) => prefix_eq(
            u128::from(u32::from(net)),
            u128::from(u32::from(ip)),
            32,
            prefix,
        ),
        (IpAddr::V6(net), IpAddr::V6(ip)) => {
            prefix_eq(u128::from(net), u128::from(ip), 128, prefix)
        }
        _ => false,
    }
}

fn prefix_eq(network: u128, ip: u128, bits: u32, prefix: Option<u32>) -> bool {
    let prefix = prefix.unwrap_or(bits);
    if prefix > bits {
        return false;
    }
    let shift = bits - prefix;
    shift >= bits || (network >> shift) == (ip >> shift)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_proxy_matches_hosts_subdomains_ips_ranges_ports_and_star() {
        let cases = [
            ("localhost", "localhost", 4318, true),
            ("example.com", "api.example.com", 443, true),
            ("example.com", "example.com", 443, true),
            (".example.com", "api.example.com", 443, true),
            ("*.example.com", "api.example.com", 443, true),
            ("example.com", "badexample.com", 443, false),
            ("127.0.0.1", "127.0.0.1", 4318, true),
            ("127.0.0.1", "127.0.0.2", 4318, false),
            ("10.0.0.0/8", "10.20.30.40", 80, true),
            ("10.0.0.0/8", "11.0.0.1", 80, false),
            ("::1", "[::1]", 4318, true),
            ("fd00::/8", "[fd12::1]", 4318, true),
            ("localhost:4318", "localhost", 4318, true),
            ("localhost:4318", "localhost", 4317, false),
            ("*", "anything.example", 443, true),
            (" , other.example , localhost ", "localhost", 1, true),
            ("", "localhost", 1, false),
        ];
        for (list, host, port, expected) in cases {
            assert_eq!(
                bypasses(list, host, port),
                expected,
                "{list:?} vs {host}:{port}"
            );
        }
    }

    #[test]
    fn proxy_urls_parse_with_default_port_and_hidden_credentials() {
        let proxy = parse("http://user:p%40ss@proxy.corp:3128/", "HTTPS_PROXY").unwrap();
        assert_eq!((proxy.host.as_str(), proxy.port), ("proxy.corp", 3128));
        assert_eq!(proxy.credentials.as_deref(), Some("user:p@ss"));
        assert_eq!(proxy.url, "http://user:p%40ss@proxy.corp:3128");
        let shown = format!("{proxy} {proxy:?}");
        assert!(
            !shown.contains("p%40ss") && !shown.contains("p@ss"),
            "{shown}"
        );
        assert!(shown.contains("proxy.corp:3128 (HTTPS_PROXY)"), "{shown}");

        let bare = parse("proxy.corp", "HTTP_PROXY").unwrap();
        assert_eq!((bare.url.as_str(), bare.port), ("http://proxy.corp", 80));
    }

    #[test]
    fn unsupported_or_malformed_proxy_urls_are_errors_that_do_not_echo_the_value() {
        let socks = parse("socks5://user:secret@proxy:1080", "ALL_PROXY").unwrap_err();
        assert!(
            socks.contains("\"socks5\"") && !socks.contains("secret"),
            "{socks}"
        );
        let https = parse("https://proxy:443", "HTTPS_PROXY").unwrap_err();
        assert!(https.contains("\"https\""), "{https}");
        let junk = parse("http://secret word@/x", "HTTP_PROXY").unwrap_err();
        assert!(!junk.contains("secret"), "{junk}");
    }
}
