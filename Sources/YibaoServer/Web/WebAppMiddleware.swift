import Foundation
import HTTPTypes
import Hummingbird

/// Serves the browser apps from the files shipped in the server's resources (`Assets/<app>`): the
/// patient's phone app (`/app/`), the cashier console (`/cashier/`), the bureau dashboard (`/bureau/`),
/// what the two desk apps share (`/desk/`), what every app shares (`/shared/`) and the front door with
/// the API reference (`/start/`, served at `/`). The files are read once at start into memory and served by exact path, so
/// no request can name a file outside them. They are static clients of the public `/v1` API: no page
/// is rendered with data on the server.
struct WebAppMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    struct File: Sendable {
        var body: ByteBuffer
        var contentType: String
    }

    /// Path (as requested, e.g. `/app/js/main.js`) → file.
    let files: [String: File]

    /// The files of every app folder under the resources' `Assets`.
    static let apps = ["app", "cashier", "bureau", "desk", "shared", "start"]

    static func load(apps: [String] = WebAppMiddleware.apps) -> WebAppMiddleware {
        var files: [String: File] = [:]
        guard let assets = Bundle.module.resourceURL?.appendingPathComponent("Assets") else { return WebAppMiddleware(files: [:]) }
        for app in apps {
            let root = assets.appendingPathComponent(app)
            guard let enumerator = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey]) else { continue }
            for case let url as URL in enumerator {
                guard (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true, let data = try? Data(contentsOf: url) else {
                    continue
                }
                let relative = url.standardizedFileURL.path.dropFirst(root.standardizedFileURL.path.count)
                files["/\(app)\(relative)"] = File(body: ByteBuffer(bytes: data), contentType: contentType(url.pathExtension))
            }
            if let index = files["/\(app)/index.html"] { files["/\(app)/"] = index }
        }
        return WebAppMiddleware(files: files)
    }

    static func contentType(_ pathExtension: String) -> String {
        switch pathExtension {
        case "html": "text/html; charset=utf-8"
        case "js": "text/javascript; charset=utf-8"
        case "css": "text/css; charset=utf-8"
        case "webmanifest": "application/manifest+json"
        case "svg": "image/svg+xml"
        case "png": "image/png"
        default: "application/octet-stream"
        }
    }

    /// The pages load scripts, styles and data only from this origin; nothing may frame them.
    static let securityHeaders: [(HTTPField.Name, String)] = [
        (
            .contentSecurityPolicy,
            "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; connect-src 'self'; "
                + "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
        ),
        (.xContentTypeOptions, "nosniff"),
        (HTTPField.Name("Referrer-Policy")!, "no-referrer"),
        (HTTPField.Name("X-Frame-Options")!, "DENY"),
    ]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.method == .get || request.method == .head else { return try await next(request, context) }
        let path = request.uri.path
        if Self.apps.contains(String(path.dropFirst())) {
            return Response(status: .found, headers: [.location: "\(path)/"])
        }
        guard path == "/" || Self.apps.contains(where: { path.hasPrefix("/\($0)/") }) else { return try await next(request, context) }
        guard let file = files[path == "/" ? "/start/index.html" : path] else {
            return try await next(request, context)
        }
        var headers: HTTPFields = [.contentType: file.contentType, .cacheControl: "no-cache"]
        for (name, value) in Self.securityHeaders { headers[name] = value }
        return Response(status: .ok, headers: headers, body: request.method == .head ? .init() : .init(byteBuffer: file.body))
    }
}
