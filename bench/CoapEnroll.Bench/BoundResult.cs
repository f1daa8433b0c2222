namespace CoapEnroll.Bench;

/// <summary>
/// The <see cref="CryptoBound"/> of a handshake and of an enrollment, from the timings of its operations: CPU per operation
/// (the sum of the single-thread CPU times, each operation as often as it is needed) and operations per second on every core
/// (the reciprocal of the sum of each operation's count divided by its all-cores rate).
/// </summary>
internal sealed record BoundResult
{
    public required IReadOnlyList<OperationTiming> Operations { get; init; }

    /// <summary>Certificates the client sends in its Certificate message, each verified once by the server.</summary>
    public int ChainCertificates { get; init; }

    /// <summary>Counts per handshake: ecdsa-sign, ecdh-keygen, ecdh-import, ecdh-derive, ecdsa-verify.</summary>
    public required IReadOnlyDictionary<string, int> HandshakeCounts { get; init; }

    /// <summary>Counts per enrollment (the handshake's plus the CSR verify and the certificate sign).</summary>
    public required IReadOnlyDictionary<string, int> EnrollmentCounts { get; init; }

    /// <summary>
    /// Operations timed beside the bound's for information (x509-decode, ec-import), in none of its sums: a server does them for
    /// a client certificate it has not seen before, but they are not public-key operations every implementation must do.
    /// </summary>
    public IReadOnlyList<OperationTiming> NotInBound { get; init; } = [];

    public double HandshakeCpuUs { get; init; }

    public double HandshakeWallUs { get; init; }

    public double HandshakesPerSecond { get; init; }

    public double EnrollmentCpuUs { get; init; }

    public double EnrollmentWallUs { get; init; }

    public double EnrollmentsPerSecond { get; init; }

    public static BoundResult From(IReadOnlyDictionary<string, OperationTiming> timings, int chainCertificates)
    {
        var handshake = new Dictionary<string, int>(StringComparer.Ordinal)
        {
            ["ecdsa-sign"] = 1,
            ["ecdh-keygen"] = 1,
            ["ecdh-import"] = 1,
            ["ecdh-derive"] = 1,
            ["ecdsa-verify"] = chainCertificates + 1,
        };
        var enrollment = new Dictionary<string, int>(StringComparer.Ordinal)
        {
            ["ecdsa-sign"] = 2,
            ["ecdh-keygen"] = 1,
            ["ecdh-import"] = 1,
            ["ecdh-derive"] = 1,
            ["ecdsa-verify"] = chainCertificates + 2,
        };
        return new BoundResult
        {
            Operations = [.. timings.Values],
            ChainCertificates = chainCertificates,
            HandshakeCounts = handshake,
            EnrollmentCounts = enrollment,
            HandshakeCpuUs = Sum(handshake, timings, t => t.CpuUs),
            HandshakeWallUs = Sum(handshake, timings, t => t.WallUs),
            HandshakesPerSecond = 1 / Sum(handshake, timings, t => 1 / t.AllCoresPerSecond),
            EnrollmentCpuUs = Sum(enrollment, timings, t => t.CpuUs),
            EnrollmentWallUs = Sum(enrollment, timings, t => t.WallUs),
            EnrollmentsPerSecond = 1 / Sum(enrollment, timings, t => 1 / t.AllCoresPerSecond),
        };
    }

    private static double Sum(Dictionary<string, int> counts, IReadOnlyDictionary<string, OperationTiming> timings, Func<OperationTiming, double> value) =>
        counts.Sum(c => c.Value * value(timings[c.Key]));
}
