import Synchronization
import YibaoCore

/// The sandbox's test clock: the system's time plus an offset a demo or a test moves forward (`POST
/// /v1/sandbox/clock/advance`), to see what tomorrow brings — the daily close of today, a period that
/// has ended and can be cleared, a credit bill falling due — without waiting for it. Forward only:
/// nothing Yibao keeps (ids, sessions, the audit log) expects time to go back. Wired in by
/// `serve --demo` and `--sandbox` only, like the other sandbox parties; production reads the system
/// clock itself.
public final class SandboxClock: WallClock {
    /// The most one call moves the clock: 31 days.
    public static let maximumStepSeconds: Int64 = 31 * 86_400

    private let system: any WallClock
    private let offset = Atomic<Int64>(0)

    /// A clock `offsetSeconds` after `system`.
    public init(system: any WallClock) { self.system = system }

    public func now() -> Instant { system.now().adding(seconds: offset.load(ordering: .relaxed)) }

    /// How far ahead of the system's time this clock is.
    public var offsetSeconds: Int64 { offset.load(ordering: .relaxed) }

    /// Moves the clock forward by 1 second to `maximumStepSeconds`.
    public func advance(seconds: Int64) throws(Refusal) {
        guard (1...SandboxClock.maximumStepSeconds).contains(seconds) else {
            throw Refusal.invalid("seconds", "the sandbox clock moves forward by 1 second to 31 days at a time")
        }
        offset.add(seconds, ordering: .relaxed)
    }
}
