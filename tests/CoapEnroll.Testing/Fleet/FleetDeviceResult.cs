using System.Security.Cryptography.X509Certificates;

namespace CoapEnroll.Testing;

/// <summary>One simulated device's enrollment: its CSR, the certificate it ended with (null when it gave up), and what it took.</summary>
public sealed record FleetDeviceResult
{
    public required int Index { get; init; }

    public required string Subject { get; init; }

    /// <summary>The one CSR the device sent, in every attempt.</summary>
    public required byte[] CsrDer { get; init; }

    /// <summary>SHA-256 of the CSR's SubjectPublicKeyInfo, hex (what the store records as public_key_sha256).</summary>
    public required string PublicKeySha256 { get; init; }

    public X509Certificate2? Certificate { get; init; }

    /// <summary>DTLS sessions the device started.</summary>
    public required int Attempts { get; init; }

    /// <summary>From the first ClientHello to the certificate (or to giving up).</summary>
    public required TimeSpan Elapsed { get; init; }

    /// <summary>Why attempts failed, in order.</summary>
    public required IReadOnlyList<string> Errors { get; init; }

    /// <summary>Error responses the server sent (e.g. "5.00"), one entry per response.</summary>
    public required IReadOnlyList<string> ErrorCodes { get; init; }

    /// <summary>Datagrams the device sent into its link, and the server sent into it (before loss).</summary>
    public required int DatagramsToServer { get; init; }

    public required int DatagramsToDevice { get; init; }

    public bool Enrolled => Certificate is not null;
}
