import Foundation
import Hummingbird
import NIOCore
import Prometheus
import YibaoApp
import YibaoCore
import YibaoStore

/// Liveness, readiness, metrics and the API description.
struct HealthController {
    let platform: Platform
    let metrics: PrometheusCollectorRegistry

    struct Health: Codable, Sendable {
        var status: String
        var database: String?
        var schemaVersion: Int?
    }

    func addRoutes(to routes: RouteRegistry) {
        let dialect = platform.backend.dialect.rawValue
        routes.add(.get, "/health", .anyone, "Liveness: the process answers") { _, _ in
            JSONResponse(Health(status: "ok", database: nil, schemaVersion: nil))
        }
        routes.add(.get, "/ready", .anyone, "Readiness: the database answers") { _, context -> Response in
            guard await platform.backend.ping() else {
                return ProblemMiddleware.internalProblem(status: .serviceUnavailable, detail: "the database does not answer", requestID: context.id)
            }
            return try JSONResponse(Health(status: "ready", database: dialect, schemaVersion: Migrations.latestVersion)).makeResponse()
        }
        routes.add(.get, "/metrics", .anyone, "Prometheus metrics") { _, _ in
            var buffer: [UInt8] = []
            metrics.emit(into: &buffer)
            // The database's gauges, waited for as a probe; a scrape while the database is away or stuck
            // still answers the process's own metrics.
            if let gauges = try? await DatabaseWait.probing({ try await platform.operationalGauges() }) {
                buffer += Array(BusinessMetrics.gauges(gauges).utf8)
            }
            if let trips = platform.backend.roundTrips { buffer += Array(BusinessMetrics.roundTrips(trips).utf8) }
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(bytes: buffer))
            )
        }
        routes.add(.get, "/openapi.json", .anyone, "This API, as OpenAPI 3.1") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: try OpenAPIDocument.bytes())))
        }
    }
}

/// The OpenAPI document shipped with the server.
enum OpenAPIDocument {
    static func bytes() throws -> Data {
        guard let url = Bundle.module.resourceURL?.appendingPathComponent("Assets/openapi.json") else {
            throw StoreError.configuration("openapi.json is missing from this build")
        }
        return try Data(contentsOf: url)
    }
}
