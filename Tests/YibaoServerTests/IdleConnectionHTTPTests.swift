import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing
import YibaoServer
import YibaoTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// Connections that say nothing: the server closes them after its idle timeout instead of keeping their
/// sockets for good — one that never sends a request, one that stops in the middle of a request's head
/// (slowloris), and one whose request was answered and that then stays silent.
@Suite("HTTP: idle connections")
struct IdleConnectionHTTPTests {
    typealias H = ServerHarness

    @Test("a silent connection, a request's head left unfinished and a connection idle after its answer are closed after the idle timeout")
    func idleConnectionsClosed() async throws {
        try await H.withApp(live: true, idleTimeout: .seconds(1)) { client, _ in
            let port = try #require(client.port)
            let silent = try connectedSocket(port: port)
            let halfHead = try connectedSocket(port: port)
            let answered = try connectedSocket(port: port)
            defer { for socket in [silent, halfHead, answered] { close(socket) } }
            try Self.send("GET /health HTTP/1.1\r\nHost: yibao\r\nX-Slow: ", on: halfHead)
            try Self.send("GET /health HTTP/1.1\r\nHost: yibao\r\n\r\n", on: answered)
            let started = ContinuousClock.now
            // What each connection receives until the server closes it (or 10 s pass).
            let (silentText, silentClosed) = await Self.readUntilClosed(silent, within: .seconds(10))
            let (halfText, halfClosed) = await Self.readUntilClosed(halfHead, within: .seconds(10))
            let (answeredText, answeredClosed) = await Self.readUntilClosed(answered, within: .seconds(10))
            let waited = ContinuousClock.now - started
            #expect(silentClosed && silentText.isEmpty, "silent: \(silentText)")
            #expect(halfClosed && halfText.isEmpty, "a head left unfinished: \(halfText)")
            #expect(answeredClosed && answeredText.hasPrefix("HTTP/1.1 200"), "answered: \(answeredText)")
            #expect(waited < .seconds(8), "the connections were closed after \(waited)")
            // The server goes on answering new connections (the test client's own, idle meanwhile, was closed too).
            let fresh = try connectedSocket(port: port)
            defer { close(fresh) }
            try Self.send("GET /health HTTP/1.1\r\nHost: yibao\r\nConnection: close\r\n\r\n", on: fresh)
            let (freshText, _) = await Self.readUntilClosed(fresh, within: .seconds(10))
            #expect(freshText.hasPrefix("HTTP/1.1 200"), "\(freshText)")
        }
    }

    @Test("a body trickled slower than the server waits for it is refused with body_too_slow, its place in flight given back")
    func slowBody() async throws {
        try await H.withApp(maxInFlight: 1, live: true, bodyWait: .seconds(1)) { client, _ in
            let port = try #require(client.port)
            let slow = try connectedSocket(port: port)
            defer { close(slow) }
            // A sign-in whose body announces 200 bytes and sends a few, then a byte now and then.
            try Self.send(
                "POST /v1/patient/sessions HTTP/1.1\r\nHost: yibao\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{\"phone\"",
                on: slow)
            let started = ContinuousClock.now
            var answer = ""
            for _ in 0..<8 where !answer.contains("\r\n\r\n") {
                try? Self.send(" ", on: slow)
                answer += await Self.readUntilClosed(slow, within: .milliseconds(400)).0
            }
            let waited = ContinuousClock.now - started
            #expect(answer.hasPrefix("HTTP/1.1 400"), "\(answer)")
            #expect(answer.contains("body_too_slow"), "\(answer)")
            #expect(waited < .seconds(4), "answered after \(waited)")
            // With a limit of one request in flight, the next request is admitted: the slow one left.
            let fresh = try connectedSocket(port: port)
            defer { close(fresh) }
            try Self.send("GET /v1/patient/wallet HTTP/1.1\r\nHost: yibao\r\nConnection: close\r\n\r\n", on: fresh)
            let (freshText, _) = await Self.readUntilClosed(fresh, within: .seconds(10))
            #expect(!freshText.contains("overloaded"), "\(freshText)")
        }
    }

    static func send(_ text: String, on socket: Int32) throws {
        let bytes = Array(text.utf8)
        guard bytes.withUnsafeBytes({ Glibc.send(socket, $0.baseAddress!, $0.count, Int32(MSG_NOSIGNAL)) }) == bytes.count else {
            throw SocketError(description: "cannot write to the test server")
        }
    }

    /// What `socket` receives until its end (true) or until `within` has passed (false), read on a
    /// thread of its own: a blocking read on Swift's cooperative pool (two threads on two cores) would
    /// starve the servers under test, which run there.
    static func readUntilClosed(_ socket: Int32, within: Duration) async -> (String, Bool) {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread { continuation.resume(returning: blockingRead(socket, within: within)) }
        }
    }

    private static func blockingRead(_ socket: Int32, within: Duration) -> (String, Bool) {
        var received: [UInt8] = []
        let deadline = ContinuousClock.now + within
        var buffer = [UInt8](repeating: 0, count: 4096)
        var wait = timeval(tv_sec: 0, tv_usec: 200_000)
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &wait, socklen_t(MemoryLayout<timeval>.size))
        while ContinuousClock.now < deadline {
            let got = recv(socket, &buffer, buffer.count, 0)
            if got == 0 { return (String(decoding: received, as: UTF8.self), true) }
            if got > 0 { received += buffer[0..<got] }
            if got < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR { return (String(decoding: received, as: UTF8.self), true) }
        }
        return (String(decoding: received, as: UTF8.self), false)
    }
}
