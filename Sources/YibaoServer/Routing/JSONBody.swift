import Foundation
import Hummingbird
import NIOCore
import YibaoCore

/// How long a request's body may take to arrive whole once the application reads it
/// (`AppServices.requestBodyWait`, set for each request by `AdmissionMiddleware`).
enum RequestBodyWait {
    @TaskLocal static var limit = AppServices.requestBodyWaitDefault
}

extension Request {
    /// Reads the whole body, refusing more than the context allows and a body that does not arrive
    /// within `RequestBodyWait.limit` (a client that trickles it would hold its place among the requests
    /// in flight for as long as it liked).
    mutating func bodyBytes(context: AppRequestContext) async throws -> ByteBuffer {
        let limit = context.maxUploadSize
        let wait = RequestBodyWait.limit
        let body = self.body
        let collected: ByteBuffer? = try await withThrowingTaskGroup(of: ByteBuffer?.self) { group in
            group.addTask {
                do {
                    return try await body.collect(upTo: limit)
                } catch let error as HTTPError where error.status == .contentTooLarge {
                    throw Refusal(.bodyTooLarge, "the request body is larger than \(limit) bytes")
                }
            }
            group.addTask {
                try? await Task.sleep(for: wait)
                return nil
            }
            defer { group.cancelAll() }
            return try await group.next() ?? nil
        }
        guard let collected else {
            throw Refusal(.bodyTooSlow, "the request body did not arrive within \(wait.components.seconds) s")
        }
        self.body = .init(buffer: collected)
        return collected
    }

    /// Reads and decodes a JSON body; a malformed body is refused with the field at fault named.
    mutating func decodeJSON<T: Decodable>(_ type: T.Type, context: AppRequestContext) async throws -> T {
        try JSONBody.decode(type, from: try await bodyBytes(context: context))
    }
}

/// Decoding request bodies, with DecodingError turned into a refusal that names the field in the
/// JSON's own snake_case path (`lines[2].unit_price`).
enum JSONBody {
    static func decode<T: Decodable>(_ type: T.Type, from buffer: ByteBuffer) throws -> T {
        guard buffer.readableBytes > 0 else { throw Refusal.invalid("body", "a JSON body is required") }
        // The settlement's body in its usual shape is read without Foundation (`CanonicallyReadable`).
        if let readable = T.self as? any CanonicallyReadable.Type, let value = canonical(readable, buffer) as? T { return value }
        do {
            return try YibaoJSON.decoder().decode(type, from: Data(buffer.readableBytesView))
        } catch let error as DecodingError {
            throw refusal(error)
        } catch let refusal as Refusal {
            throw refusal
        }
    }

    private static func canonical<R: CanonicallyReadable>(_ type: R.Type, _ buffer: ByteBuffer) -> R? {
        CanonicalJSONReader.read(type, from: buffer)
    }

    static func refusal(_ error: DecodingError) -> Refusal {
        switch error {
        case .keyNotFound(let key, let context):
            return .invalid(path(context.codingPath + [key]), "\(path(context.codingPath + [key])) is required")
        case .valueNotFound(_, let context):
            return .invalid(path(context.codingPath), "\(path(context.codingPath)) must not be null")
        case .typeMismatch(let expected, let context):
            return .invalid(path(context.codingPath), "\(path(context.codingPath)) must be \(describe(expected))")
        case .dataCorrupted(let context):
            if context.codingPath.isEmpty { return .invalid("body", "the body is not valid JSON") }
            let field = path(context.codingPath)
            return .invalid(field, "\(field): \(context.debugDescription)")
        @unknown default:
            return .invalid("body", "the body could not be read")
        }
    }

    static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Int64.Type, is Int.Type: return "an integer (amounts are integer fen)"
        case is Bool.Type: return "true or false"
        case is Double.Type: return "a number"
        default:
            let name = String(describing: type)
            if name.hasPrefix("Array") { return "an array" }
            if name.hasPrefix("Dictionary") { return "an object" }
            return "a valid \(name)"
        }
    }

    /// `lines[2].unit_price` from a coding path.
    static func path(_ keys: [any CodingKey]) -> String {
        var text = ""
        for key in keys {
            if let index = key.intValue {
                text += "[\(index)]"
            } else {
                if !text.isEmpty { text += "." }
                text += snakeCase(key.stringValue)
            }
        }
        return text.isEmpty ? "body" : text
    }

    static func snakeCase(_ name: String) -> String {
        var output = ""
        for character in name {
            if character.isUppercase {
                if !output.isEmpty { output += "_" }
                output += character.lowercased()
            } else {
                output.append(character)
            }
        }
        return output
    }
}

/// A response with a JSON body from Yibao's encoder and a chosen status.
struct JSONResponse<Value: Encodable & Sendable>: ResponseGenerator {
    let status: HTTPResponse.Status
    let value: Value
    var headers: HTTPFields = [:]

    init(_ value: Value, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) {
        self.value = value
        self.status = status
        self.headers = headers
    }

    func response(from request: Request, context: some RequestContext) throws -> Response { try makeResponse() }

    func makeResponse() throws -> Response {
        var headers = self.headers
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: try YibaoJSON.encode(value))))
    }
}
