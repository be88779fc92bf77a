import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing
import YibaoServer

/// The patient's app is served at `/app/` from the files shipped with the server: exact paths only,
/// with a content security policy that keeps scripts, styles and data on this origin. The app itself
/// is tested in a real browser (scripts/browser-test).
@Suite("HTTP: the phone app's files")
struct WebAppHTTPTests {
    typealias H = ServerHarness

    @Test(
        "/ is the front door; /app, /cashier and /bureau lead to their folders; the shells, modules and service worker are served with their types and the policy"
    )
    func served() async throws {
        try await H.withApp { client, _ in
            for app in ["app", "cashier", "bureau"] {
                let response = try await client.send(.get, "/" + app)
                #expect(response.status == .found)
                #expect(response.headers[.location] == "/\(app)/")
                let shell = try await client.send(.get, "/\(app)/")
                #expect(shell.status == .ok && shell.text.contains("type=\"module\""), "\(app)")
            }
            let door = try await client.send(.get, "/")
            #expect(door.status == .ok)
            #expect(door.text.contains("/cashier/") && door.text.contains("/bureau/") && door.text.contains("/app/"))
            #expect(door.headers[.contentSecurityPolicy]?.contains("script-src 'self'") == true)
            let shell = try await client.send(.get, "/app/")
            #expect(shell.status == .ok)
            #expect(shell.headers[.contentType] == "text/html; charset=utf-8")
            #expect(shell.text.contains("<script type=\"module\" src=\"js/main.js\"></script>"))
            let policy = try #require(shell.headers[.contentSecurityPolicy])
            #expect(policy.contains("script-src 'self'") && policy.contains("frame-ancestors 'none'"))
            #expect(shell.headers[.xContentTypeOptions] == "nosniff")
            for (path, type) in [
                ("/app/js/main.js", "text/javascript; charset=utf-8"), ("/app/js/screens/code.js", "text/javascript; charset=utf-8"),
                ("/app/sw.js", "text/javascript; charset=utf-8"), ("/app/app.css", "text/css; charset=utf-8"),
                ("/shared/busy.js", "text/javascript; charset=utf-8"),
            ] {
                let response = try await client.send(.get, path)
                #expect(response.status == .ok, "\(path)")
                #expect(response.headers[.contentType] == type, "\(path)")
                #expect(!response.text.isEmpty, "\(path)")
            }
        }
    }

    @Test("a path outside the app's files is not served: traversal, unknown files and other methods fall through to 404/405")
    func onlyItsFiles() async throws {
        try await H.withApp { client, _ in
            for path in [
                "/app/../Package.swift", "/app/%2e%2e/openapi.json", "/app/js/nope.js", "/app/js/", "/appendix", "/desk/../app/index.html",
                "/start/nope.html",
            ] {
                let response = try await client.send(.get, path)
                #expect(response.status == .notFound, "\(path)")
                #expect(response.headers[.contentType] == "application/problem+json", "\(path)")
            }
            #expect(try await client.send(.post, "/app/", json: "{}").status.code >= 400)
        }
    }
}
