import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTP1
import YibaoCore
import YibaoStore

/// Webhook subscriptions: institutions subscribe to their own settlements' events; the bureau's
/// administrators register partners (banks, commercial insurers) for event types. And the bureau's
/// queue of reported transactions.
struct WebhookController {
    let store: Store

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
                try await store.subscribeWebhook(owner: "institution:" + context.institution.code, url: body.url, events: body.events),
                status: .created
            )
        }
        routes.add(.get, "/v1/webhooks", .institution, "Your subscriptions") { _, context in
            JSONResponse(try await store.webhookSubscriptions(owner: "institution:" + context.institution.code))
        }
        routes.add(.delete, "/v1/webhooks/{subscription_id}", .institution, "Cancel a subscription") { _, context in
            try await store.unsubscribeWebhook(
                id: try context.parameters.require("subscription_id"), owner: "institution:" + context.institution.code)
            return Response(status: .noContent)
        }
        routes.add(.post, "/v1/admin/webhooks", .operator(.administrator), "Subscribe a partner to event types") { request, context in
            var request = request
            let body = try await request.decodeJSON(SubscribeRequest.self, context: context)
            guard let partner = body.partner, !partner.isEmpty, partner.count <= 50 else {
                throw Refusal.invalid("partner", "name the partner (1 to 50 characters)")
            }
            return JSONResponse(try await store.subscribeWebhook(owner: "partner:" + partner, url: body.url, events: body.events), status: .created)
        }
        routes.add(.get, "/v1/admin/webhooks", .operator(.viewer), "Every live subscription") { _, _ in
            JSONResponse(try await store.webhookSubscriptions(owner: nil))
        }
        routes.add(.delete, "/v1/admin/webhooks/{webhook_id}", .operator(.administrator), "Cancel any subscription") { _, context in
            try await store.unsubscribeWebhook(id: try context.parameters.require("webhook_id"), owner: nil)
            return Response(status: .noContent)
        }
        routes.add(.get, "/v1/admin/reports", .operator(.operator), "Reported transactions (?state=open|resolved)") { request, _ in
            JSONResponse(try await store.transactionReports(state: request.uri.queryParameters.get("state") ?? "open", person: nil))
        }
        routes.add(.put, "/v1/admin/reports/{report_id}", .operator(.operator), "Resolve a report; the patient is told") { request, context in
            var request = request
            let body = try await request.decodeJSON(ResolveRequest.self, context: context)
            return JSONResponse(
                try await store.resolveReport(
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

    /// A transport on the shared client.
    public init(client: HTTPClient = .shared) { self.client = client }

    public func post(url: String, headers: [(String, String)], body: String) async throws -> Int {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(string: body))
        let response = try await client.execute(request, timeout: .seconds(10))
        return Int(response.status.code)
    }
}
