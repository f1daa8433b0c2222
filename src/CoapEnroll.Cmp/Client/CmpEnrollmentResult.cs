using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace CoapEnroll.Cmp;

/// <summary>What an enrollment (ir, cr, kur, p10cr) brought back.</summary>
public sealed class CmpEnrollmentResult
{
    /// <summary>The issued certificate.</summary>
    public required X509Certificate2 Certificate { get; init; }

    /// <summary>The answer's extraCerts other than the issued certificate and the protection certificate: the issuing chain (RFC 9483 §4.1.1).</summary>
    public required IReadOnlyList<X509Certificate2> Chain { get; init; }

    /// <summary>With central key generation: the key the server generated (decrypted, its signature checked); else null.</summary>
    public AsymmetricAlgorithm? PrivateKey { get; init; }

    /// <summary>caPubs: the CA certificates the server asks the client to trust (typically after ir with MAC).</summary>
    public required IReadOnlyList<X509Certificate2> CaPubs { get; init; }

    /// <summary>Whether the server granted implicit confirmation (no certConf was sent).</summary>
    public bool ImplicitlyConfirmed { get; init; }

    /// <summary>With <see cref="CmpClientOptions.DeferConfirmation"/>: the transaction to confirm or reject with certConf later; else null.</summary>
    public CmpPendingConfirmation? PendingConfirmation { get; init; }

    /// <summary>Whether the server made us wait (pollReq/pollRep) before issuing.</summary>
    public bool Polled { get; init; }
}
