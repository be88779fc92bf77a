import YibaoCore
import YibaoStore

/// The sandbox face verifier.
public struct SandboxIdentityVerifier: IdentityVerifier {
    /// Creates the sandbox verifier.
    public init() {}

    /// The app's sandbox client presents `sandbox-face:<person number>` as the evidence.
    public var provider: String { "sandbox" }

    public func verify(person: Person, evidence: String) async throws -> Bool {
        Secrets.constantTimeEquals(evidence, "sandbox-face:" + person.number)
    }
}
