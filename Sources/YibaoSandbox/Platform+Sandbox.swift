import YibaoApp

extension Platform {
    /// The sandbox bank, when it is the platform's channel (demos and tests).
    public var sandbox: SandboxBank? { channel as? SandboxBank }
    /// The sandbox's test clock, when the platform runs on it.
    public var sandboxClock: SandboxClock? { clock as? SandboxClock }
}
