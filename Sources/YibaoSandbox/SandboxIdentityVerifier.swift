import YibaoCore
import YibaoStore

/// The sandbox face verifier.
public struct SandboxIdentityVerifier: IdentityVerifier {
    /// Creates the sandbox verifier.
    public init() {}

    public func verify(person: Person, evidence: String) async throws -> Bool {
        Secrets.constantTimeEquals(evidence, "sandbox-face:" + person.number)
    }
}
