import YibaoApp

extension Platform {
    /// The sandbox bank, when it is the platform's channel (demos and tests).
    public var sandbox: SandboxBank? { channel as? SandboxBank }
}
