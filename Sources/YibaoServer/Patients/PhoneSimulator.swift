import YibaoCore

/// What a phone computes on its own: the authenticator code (for the CLI helper and load tests).
public enum PhoneSimulator {
    /// The TOTP code of a secret at an instant.
    public static func totp(secret: String, at instant: Instant) -> String { PatientAuth.totp(secret: secret, at: instant) }
}
