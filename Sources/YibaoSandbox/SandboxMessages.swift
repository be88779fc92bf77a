import Synchronization
import YibaoCore
import YibaoStore

/// The built-in sandbox SMS gateway: keeps the last messages in memory for operators to read
/// (`GET /v1/sandbox/messages`), so registration works end to end without a carrier. A real adapter
/// implements `MessageGateway` against a carrier's API.
public final class SandboxMessages: MessageGateway {
    /// A message that was "sent".
    public struct Message: Sendable, Hashable, Codable {
        /// The phone.
        public var phone: String
        /// The text.
        public var text: String
        /// When.
        public var sentAt: Instant
    }

    /// The most messages kept.
    public static let messagesMax = 1000

    private let clock: any WallClock
    private let messages = Mutex<[Message]>([])

    /// Creates an empty gateway.
    public init(clock: any WallClock) { self.clock = clock }

    public func send(to phone: String, text: String) async throws {
        let message = Message(phone: phone, text: text, sentAt: clock.now())
        messages.withLock { messages in
            messages.append(message)
            if messages.count > SandboxMessages.messagesMax { messages.removeFirst(messages.count - SandboxMessages.messagesMax) }
        }
    }

    /// Messages sent to a phone, newest last.
    public func messages(to phone: String) -> [Message] { messages.withLock { $0.filter { $0.phone == phone } } }
}
