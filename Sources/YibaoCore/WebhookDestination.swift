import Foundation

/// Where a webhook may be delivered: only `https` to public destinations, so a subscriber cannot make
/// Yibao's servers call into the bureau's own network (server-side request forgery). A test or a
/// closed deployment may allow private destinations and plain http explicitly.
public enum WebhookDestination {
    /// Why `url` may not receive webhooks, or nil when it may.
    public static func problem(url: String, allowPrivate: Bool) -> String? {
        guard url.utf8.count <= 500, let scheme = url.split(separator: ":", maxSplits: 1).first.map({ $0.lowercased() }) else {
            return "url must be an https URL of at most 500 characters"
        }
        guard scheme == "https" || (allowPrivate && scheme == "http") else { return "url must be https" }
        guard let host = host(of: url) else { return "url must name a host" }
        if allowPrivate { return nil }
        if let reason = privateReason(host: host) { return "url must be a public destination: \(host) is \(reason)" }
        return nil
    }

    /// The host of an http(s) URL, lower-cased, IPv6 brackets removed; nil when there is none.
    public static func host(of url: String) -> String? {
        guard let range = url.range(of: "://") else { return nil }
        var rest = url[range.upperBound...]
        if let end = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) { rest = rest[..<end] }
        if let at = rest.lastIndex(of: "@") { rest = rest[rest.index(after: at)...] }
        var host: Substring
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { return nil }
            host = rest[rest.index(after: rest.startIndex)..<close]
        } else {
            host = rest.split(separator: ":", maxSplits: 1).first ?? ""
        }
        if host.hasSuffix(".") { host = host.dropLast() }
        return host.isEmpty ? nil : host.lowercased()
    }

    /// Why a host (a name or an address literal) is not public, or nil when it is.
    public static func privateReason(host: String) -> String? {
        if let address = ipv4(host) { return privateReason(ipv4: address) }
        if host.contains(":") { return privateReason(ipv6: host) }
        let name = host.lowercased()
        if name == "localhost" || name.hasSuffix(".localhost") { return "the local machine" }
        for suffix in [".local", ".internal", ".lan", ".home.arpa", ".intranet", ".corp"] where name.hasSuffix(suffix) {
            return "a private name (\(suffix))"
        }
        if !name.contains(".") { return "a single-label name that only a private network resolves" }
        if name.allSatisfy({ $0.isNumber || $0 == "." }) { return "not a valid address" }
        return nil
    }

    /// The four octets of a dotted IPv4 literal (decimal only), or nil.
    static func ipv4(_ text: String) -> [Int]? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        let octets = parts.compactMap { part -> Int? in
            guard !part.isEmpty, part.count <= 3, part.allSatisfy(\.isASCIIDigit), let value = Int(part), value <= 255 else { return nil }
            return value
        }
        return octets.count == 4 ? octets : nil
    }

    /// Why an IPv4 address is not public, or nil.
    public static func privateReason(ipv4 a: [Int]) -> String? {
        switch (a[0], a[1]) {
        case (0, _): return "an unspecified address"
        case (10, _): return "a private address (10/8)"
        case (100, 64...127): return "a shared address (100.64/10)"
        case (127, _): return "a loopback address"
        case (169, 254): return "a link-local address (cloud metadata lives here)"
        case (172, 16...31): return "a private address (172.16/12)"
        case (192, 168): return "a private address (192.168/16)"
        case (192, 0) where a[2] == 0: return "a reserved address (192.0.0/24)"
        case (198, 18...19): return "a benchmarking address (198.18/15)"
        case (224...255, _): return "a multicast or reserved address"
        default: return nil
        }
    }

    /// Why an IPv6 literal is not public, or nil.
    public static func privateReason(ipv6 text: String) -> String? {
        let lower = text.lowercased()
        if lower == "::" { return "an unspecified address" }
        if lower == "::1" { return "a loopback address" }
        if let v4 = lower.split(separator: ":").last.flatMap({ ipv4(String($0)) }), lower.hasPrefix("::ffff:") || lower.hasPrefix("::") {
            return privateReason(ipv4: v4) ?? nil
        }
        let first = lower.split(separator: ":", omittingEmptySubsequences: false).first.map(String.init) ?? ""
        guard let group = UInt16(first.isEmpty ? "0" : first, radix: 16) else { return "not a valid address" }
        if group & 0xFFC0 == 0xFE80 { return "a link-local address" }
        if group & 0xFE00 == 0xFC00 { return "a unique local (private) address" }
        if group & 0xFF00 == 0xFF00 { return "a multicast address" }
        return nil
    }
}
