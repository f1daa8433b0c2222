using System.Numerics;

namespace CoapEnroll.Ca;

/// <summary>An X.509 v2 CRL (RFC 5280 section 5) of the issuing CA, as <see cref="CertificateAuthority.GetCrlAsync"/> built it.</summary>
public sealed record CrlSnapshot
{
    /// <summary>The CertificateList DER.</summary>
    public required ReadOnlyMemory<byte> Der { get; init; }

    /// <summary>Its cRLNumber extension (section 5.2.3).</summary>
    public required BigInteger CrlNumber { get; init; }

    /// <summary>thisUpdate (UTC).</summary>
    public required DateTimeOffset ThisUpdate { get; init; }

    /// <summary>nextUpdate (UTC).</summary>
    public required DateTimeOffset NextUpdate { get; init; }

    /// <summary>The number of revoked certificates it lists.</summary>
    public int Count { get; init; }
}
