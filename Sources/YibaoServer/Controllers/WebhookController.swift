import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTP1
import YibaoApp
import YibaoCore
import YibaoStore

/// Webhook subscriptions: institutions subscribe to their own settlements' events; the bureau's
/// administrators register partners (banks, commercial insurers) for event types. And the bureau's
/// queue of reported transactions.
struct WebhookController {
    let platform: Platform
    /// Whether destinations may be private addresses or plain http (`--allow-private-webhooks`, tests).
    let allowPrivate: Bool

    struct SubscribeRequest: Codable, Sendable {
        var url: String
        var events: [String]
        /// For operators: the partner's name (`partner:<name>`).
        var partner: String?
    }

    struct ResolveRequest: Codable, Sendable {
        var resolution: String
        var note: String?
    }

    func addRoutes(to routes: RouteRegistry) {
        routes.add(.post, "/v1/webhooks", .institution, "Subscribe to your settlements' events (Standard Webhooks)") { request, context in
            var request = request
            let body = try await request.decodeJSON(SubscribeRequest.self, context: context)
            return JSONResponse(
                try await platform.subscribeWebhook(
                    owner: "institution:" + context.institution.code, url: body.url, events: body.events, allowPrivate: allowPrivate),
                status: .created
            )
        }
        routes.add(.get, "/v1/webhooks", .institution, "Your subscriptions") { _, context in
            JSONResponse(try await platform.webhookSubscriptions(owner: "institution:" + context.institution.code))
        }
        routes.add(.delete, "/v1/webhooks/{subscription_id}", .institution, "Cancel a subscription") { _, context in
            try await platform.unsubscribeWebhook(
                id: try context.parameters.require("subscription_id"), owner: "institution:" + context.institution.code)
            return Response(status: .noContent)
        }
        routes.add(.post, "/v1/admin/webhooks", .operator(.administrator), "Subscribe a partner to event types") { request, context in
            var request = request
            let body = try await request.decodeJSON(SubscribeRequest.self, context: context)
            guard let partner = body.partner, !partner.isEmpty, partner.count <= 50 else {
                throw Refusal.invalid("partner", "name the partner (1 to 50 characters)")
            }
            return JSONResponse(
                try await platform.subscribeWebhook(owner: "partner:" + partner, url: body.url, events: body.events, allowPrivate: allowPrivate),
                status: .created)
        }
        routes.add(.get, "/v1/admin/webhooks", .operator(.viewer), "Every live subscription") { _, _ in
            JSONResponse(try await platform.webhookSubscriptions(owner: nil))
        }
        routes.add(.delete, "/v1/admin/webhooks/{webhook_id}", .operator(.administrator), "Cancel any subscription") { _, context in
            try await platform.unsubscribeWebhook(id: try context.parameters.require("webhook_id"), owner: nil)
            return Response(status: .noContent)
        }
        routes.add(.get, "/v1/admin/reports", .operator(.operator), "Reported transactions (?state=open|resolved)") { request, _ in
            JSONResponse(try await platform.transactionReports(state: request.uri.queryParameters.get("state") ?? "open", person: nil))
        }
        routes.add(.put, "/v1/admin/reports/{report_id}", .operator(.operator), "Resolve a report; the patient is told") { request, context in
            var request = request
            let body = try await request.decodeJSON(ResolveRequest.self, context: context)
            return JSONResponse(
                try await platform.resolveReport(
                    id: try context.parameters.require("report_id"), resolution: body.resolution, note: body.note ?? "",
                    operatorName: context.operator.name
                )
            )
        }
    }
}

/// Sends webhooks with AsyncHTTPClient (10-second timeout).
public struct HTTPWebhookTransport: WebhookTransport {
    let client: HTTPClient
    let allowPrivate: Bool

    /// A transport on the shared client; unless `allowPrivate`, a destination whose name resolves to a
    /// private, loopback or link-local address is refused at delivery time too (a name that pointed at a
    /// public address when subscribed may not be moved inside later).
    public init(client: HTTPClient = .shared, allowPrivate: Bool = false) {
        self.client = client
        self.allowPrivate = allowPrivate
    }

    /// A delivery refused before connecting.
    struct DestinationRefused: Error, CustomStringConvertible {
        let description: String
    }

    public func post(url: String, headers: [(String, String)], body: String) async throws -> Int {
        if !allowPrivate {
            if let problem = WebhookDestination.problem(url: url, allowPrivate: false) { throw DestinationRefused(description: problem) }
            if let host = WebhookDestination.host(of: url),
                let refusal = HTTPWebhookTransport.refusal(host: host, addresses: HTTPWebhookTransport.resolve(host))
            {
                throw DestinationRefused(description: refusal)
            }
        }
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(string: body))
        let response = try await client.execute(request, timeout: .seconds(10))
        return Int(response.status.code)
    }

    /// Why a destination whose name resolves to `addresses` is not delivered to, or nil when it is: a
    /// name with no address (said plainly: the bureau's screen shows it as the endpoint's answer), or one
    /// that now points inside (a private, loopback or link-local address).
    static func refusal(host: String, addresses: [String]) -> String? {
        if addresses.isEmpty { return "\(host) has no address (its name does not resolve)" }
        for address in addresses {
            if let reason = WebhookDestination.privateReason(host: address) { return "\(host) resolves to \(address), \(reason)" }
        }
        return nil
    }

    /// The addresses a name resolves to (empty when it does not).
    static func resolve(_ host: String) -> [String] {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &result) == 0, let first = result else { return [] }
        defer { freeaddrinfo(first) }
        var addresses: [String] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let info = cursor {
            var buffer = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            if getnameinfo(info.pointee.ai_addr, info.pointee.ai_addrlen, &buffer, socklen_t(buffer.count), nil, 0, NI_NUMERICHOST) == 0 {
                addresses.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
            }
            cursor = info.pointee.ai_next
        }
        return addresses
    }
}
